"""`make run` names its S3 folder relative to the checkout (`.data/s3`): the store must still find
its identities there, though `weed` runs inside that folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from devstack.servers import WeedS3
from showcase_common.settings import S3Settings
from showcase_common.snapshots import make_s3_client

KEY = ("relative-key", "relative-secret-0123456789")


def test_a_relative_data_dir_with_identities_starts_and_enforces_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    identities = {
        "identities": [
            {
                "name": "only",
                "credentials": [{"accessKey": KEY[0], "secretKey": KEY[1]}],
                "actions": ["Admin", "Read", "Write", "List"],
            }
        ]
    }
    server = WeedS3(Path(".data/s3"), identities=identities)
    try:
        endpoint = server.start()
        assert (tmp_path / ".data/s3/s3-identities.json").is_file()
        known = make_s3_client(_settings(endpoint, KEY))
        known.create_bucket(Bucket="relative")
        known.put_object(Bucket="relative", Key="k", Body=b"v")
        stranger = make_s3_client(_settings(endpoint, ("nobody", "not-a-known-secret-000")))
        with pytest.raises(ClientError):
            stranger.put_object(Bucket="relative", Key="k", Body=b"w")
    finally:
        server.stop()


def _settings(endpoint: str, key: tuple[str, str]) -> S3Settings:
    return S3Settings(
        s3_endpoint_url=endpoint,
        s3_bucket="relative",
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
    )
