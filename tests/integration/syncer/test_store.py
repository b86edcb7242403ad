"""The snapshot layout on the real S3 endpoint: checksums, immutability, the pointer's CAS."""

from __future__ import annotations

from pathlib import Path

import boto3
import httpx
import pytest
from devstack.ports import free_port
from showcase_common.settings import S3Settings
from showcase_common.snapshots import (
    ChecksumMismatch,
    GenerationTaken,
    PointerConflict,
    S3SnapshotStore,
    SnapshotStoreError,
    sha256_file,
)

from tests.integration.syncer.indexdb import create_index


@pytest.fixture
def store(s3_settings: S3Settings) -> S3SnapshotStore:
    return S3SnapshotStore.from_settings(s3_settings)


@pytest.fixture
def index_file(tmp_path: Path) -> Path:
    path = tmp_path / "index.sqlite3"
    create_index(path, wal=False)
    return path


def test_download_verifies_the_checksum(
    store: S3SnapshotStore, s3_settings: S3Settings, index_file: Path, tmp_path: Path
) -> None:
    snapshot = store.upload(index_file, 1, sha256_file(index_file))
    store.download(snapshot, tmp_path / "ok.sqlite3")
    assert sha256_file(tmp_path / "ok.sqlite3") == snapshot.sha256

    raw = boto3.client(
        "s3",
        endpoint_url=s3_settings.s3_endpoint_url,
        region_name=s3_settings.s3_region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    raw.put_object(Bucket=store.bucket, Key=snapshot.object_key, Body=b"tampered")
    with pytest.raises(ChecksumMismatch):
        store.download(snapshot, tmp_path / "bad.sqlite3")
    assert not (tmp_path / "bad.sqlite3").exists()


def test_a_generation_is_written_once(store: S3SnapshotStore, index_file: Path) -> None:
    store.upload(index_file, 1, sha256_file(index_file))
    with pytest.raises(GenerationTaken):
        store.upload(index_file, 1, sha256_file(index_file))


def test_a_body_that_does_not_match_its_checksum_is_not_uploaded(
    store: S3SnapshotStore, index_file: Path
) -> None:
    with pytest.raises(ChecksumMismatch):
        store.upload(index_file, 1, "0" * 64)


def test_the_pointer_only_moves_from_what_was_read(
    store: S3SnapshotStore, index_file: Path
) -> None:
    sha = sha256_file(index_file)
    one, two = store.upload(index_file, 1, sha), store.upload(index_file, 2, sha)
    store.advance_pointer(one, None)
    with pytest.raises(PointerConflict):
        store.advance_pointer(one, None)  # someone created it first
    _, etag = store.latest()
    store.advance_pointer(two, etag)
    with pytest.raises(PointerConflict):
        store.advance_pointer(one, etag)  # a stale reader cannot move it back
    assert store.latest()[0] == two


def test_the_legacy_copy_never_goes_back(
    store: S3SnapshotStore, index_file: Path, tmp_path: Path
) -> None:
    older = tmp_path / "older.sqlite3"
    older.write_bytes(b"older")
    store.upload_legacy(index_file, 5)
    store.upload_legacy(older, 4)
    body = store._s3.get_object(Bucket=store.bucket, Key=store.legacy_key)["Body"].read()
    assert body == index_file.read_bytes()


def test_a_legacy_copy_the_pipeline_did_not_write_is_left_alone_unless_adopted(
    store: S3SnapshotStore, index_file: Path
) -> None:
    rails_copy = b"the Rails application's own db/index.sqlite3"
    store._s3.put_object(Bucket=store.bucket, Key=store.legacy_key, Body=rails_copy)

    def legacy() -> bytes:
        return bytes(store._s3.get_object(Bucket=store.bucket, Key=store.legacy_key)["Body"].read())

    assert store.upload_legacy(index_file, 1) is False  # not generation 0: not ours at all
    assert legacy() == rails_copy
    assert store.upload_legacy(index_file, 1, adopt=True) is True
    assert legacy() == index_file.read_bytes()
    assert store.upload_legacy(index_file, 2) is True  # ours from then on


def test_check_bucket_says_what_is_wrong(s3_settings: S3Settings) -> None:
    missing = s3_settings.model_copy(update={"s3_bucket": "no-such-bucket-here"})
    with pytest.raises(SnapshotStoreError, match="'no-such-bucket-here' does not exist"):
        S3SnapshotStore.from_settings(missing).check_bucket()
    closed = s3_settings.model_copy(update={"s3_endpoint_url": "http://127.0.0.1:9"})
    with pytest.raises(SnapshotStoreError, match="unreachable"):
        S3SnapshotStore.from_settings(closed).check_bucket()


def test_check_bucket_says_when_credentials_are_refused() -> None:
    # moto's server enforces credentials once told to (weed mini only with its own config).
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        good = S3Settings(
            s3_endpoint_url=url,
            s3_bucket="creds-bucket",
            aws_access_key_id="a",
            aws_secret_access_key="b",
        )
        S3SnapshotStore.from_settings(good).ensure_bucket()
        httpx.post(f"{url}/moto-api/reset-auth", content=b"0").raise_for_status()
        wrong = good.model_copy(update={"aws_access_key_id": "wrong"})
        with pytest.raises(SnapshotStoreError, match=r"refused .*AWS_ACCESS_KEY_ID"):
            S3SnapshotStore.from_settings(wrong).check_bucket()
    finally:
        httpx.post(f"{url}/moto-api/reset-auth", content=b"inf")  # the setting is process-wide
        server.stop()
