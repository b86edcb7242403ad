"""The agents' S3 reader (signed GETs over httpx, no boto3) against a real S3 server that checks
signatures (`weed mini` with identities): it reads what the syncer's store wrote, and fails as
the boto3 store fails — the same errors, the same messages an operator acts on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from devstack.config import s3_identities
from devstack.ports import free_port
from devstack.servers import WeedS3
from showcase_common.events import Snapshot
from showcase_common.s3_reader import S3SnapshotReader, bucket_url
from showcase_common.settings import S3Settings
from showcase_common.signing import SnapshotVerifier
from showcase_common.snapshot_store import (
    ChecksumMismatch,
    SignatureRefused,
    SnapshotMissing,
    SnapshotStoreError,
)
from showcase_common.snapshots import S3SnapshotStore, make_s3_client

from tests.support.agents import publish_snapshot, sample_rows, write_index
from tests.support.signing import TEST_VERIFY_KEY, signer_of_tests

BUCKET = "reader-bucket"
WRITER = ("writer-key", "writer-secret-0123456789")
READER = ("reader-key", "reader-secret-0123456789")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    identities = s3_identities(BUCKET, writer=WRITER, reader=READER)
    server = WeedS3(tmp_path_factory.mktemp("s3-reader"), identities=identities)
    try:
        url = server.start()
        make_s3_client(_settings(url, WRITER, "db")).create_bucket(Bucket=BUCKET)
        yield url
    finally:
        server.stop()


def _settings(endpoint: str, key: tuple[str, str], prefix: str, **more: str) -> S3Settings:
    return S3Settings(
        s3_endpoint_url=endpoint,
        s3_bucket=BUCKET,
        s3_prefix=prefix,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        **more,  # type: ignore[arg-type]  # S3Settings' own fields, by name
    )


@pytest.fixture
def prefix() -> str:
    return f"db-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def writer(endpoint: str, prefix: str) -> S3SnapshotStore:
    return S3SnapshotStore.from_settings(
        _settings(endpoint, WRITER, prefix), signer=signer_of_tests()
    )


@pytest.fixture
def reader(endpoint: str, prefix: str) -> Iterator[S3SnapshotReader]:
    verifier = SnapshotVerifier.from_base64(TEST_VERIFY_KEY)
    made = S3SnapshotReader.from_settings(_settings(endpoint, READER, prefix), verifier=verifier)
    yield made
    made.close()


def _published(writer: S3SnapshotStore, tmp_path: Path, generation: int) -> Snapshot:
    path = tmp_path / f"index-{generation}.sqlite3"
    write_index(path, *sample_rows())
    return publish_snapshot(writer, path, generation)


def test_it_reads_the_pointer_and_downloads_what_the_syncer_wrote(
    writer: S3SnapshotStore, reader: S3SnapshotReader, tmp_path: Path
) -> None:
    reader.check_bucket()
    assert reader.read_pointer() == (None, None)
    snapshot = _published(writer, tmp_path, 3)

    pointer, etag = reader.read_pointer()
    assert pointer is not None and pointer.target == snapshot
    assert etag == writer.read_pointer()[1]
    assert reader.generation_key(3) == writer.generation_key(3) == snapshot.object_key
    dest = tmp_path / "downloaded"
    reader.download(snapshot, dest)
    assert dest.read_bytes() == (tmp_path / "index-3.sqlite3").read_bytes()


def test_a_missing_generation_is_snapshot_missing(
    reader: S3SnapshotReader, writer: S3SnapshotStore, tmp_path: Path
) -> None:
    absent = Snapshot(generation=9, object_key=writer.generation_key(9), sha256="0" * 64, size=1)
    with pytest.raises(SnapshotMissing, match="no object"):
        reader.download(absent, tmp_path / "absent")
    assert not (tmp_path / "absent").exists()


def test_other_bytes_than_the_snapshot_names_are_refused_and_removed(
    writer: S3SnapshotStore, endpoint: str, prefix: str, tmp_path: Path
) -> None:
    snapshot = _published(writer, tmp_path, 4)
    unchecked = S3SnapshotReader.from_settings(_settings(endpoint, READER, prefix))
    lying = snapshot.model_copy(update={"sha256": "f" * 64})
    with pytest.raises(ChecksumMismatch, match="expected f"):
        unchecked.download(lying, tmp_path / "lying")
    assert not (tmp_path / "lying").exists()


def test_an_unsigned_pointer_and_generation_are_refused(
    endpoint: str, prefix: str, reader: S3SnapshotReader, tmp_path: Path
) -> None:
    unsigned = S3SnapshotStore.from_settings(_settings(endpoint, WRITER, prefix))
    snapshot = _published(unsigned, tmp_path, 5)
    with pytest.raises(SignatureRefused, match=r"latest\.json refused"):
        reader.read_pointer()
    with pytest.raises(SignatureRefused, match="refused"):
        reader.download(snapshot, tmp_path / "unsigned")
    assert not (tmp_path / "unsigned").exists()


def test_wrong_credentials_a_missing_bucket_and_no_server_say_what_to_check(
    endpoint: str, prefix: str
) -> None:
    wrong = S3SnapshotReader.from_settings(_settings(endpoint, ("reader-key", "x" * 24), prefix))
    with pytest.raises(SnapshotStoreError, match=r"refused .*AWS_SECRET_ACCESS_KEY"):
        wrong.check_bucket()
    with pytest.raises(SnapshotStoreError, match="cannot read"):
        wrong.read_pointer()
    missing = _settings(endpoint, WRITER, prefix).model_copy(update={"s3_bucket": "no-such"})
    with pytest.raises(SnapshotStoreError, match="'no-such' does not exist"):
        S3SnapshotReader.from_settings(missing).check_bucket()
    nowhere = _settings(f"http://127.0.0.1:{free_port()}", READER, prefix)
    with pytest.raises(SnapshotStoreError, match="unreachable"):
        S3SnapshotReader.from_settings(nowhere).read_pointer()


@pytest.mark.parametrize(
    ("endpoint", "style", "bucket", "url"),
    [
        ("http://127.0.0.1:9000", "path", "b", "http://127.0.0.1:9000/b"),
        ("http://127.0.0.1:9000", "auto", "bucket", "http://127.0.0.1:9000/bucket"),
        ("https://fly.storage.tigris.dev", "virtual", "idx", "https://idx.fly.storage.tigris.dev"),
        ("https://fly.storage.tigris.dev", "auto", "idx", "https://idx.fly.storage.tigris.dev"),
        ("https://fly.storage.tigris.dev", "auto", "a.b", "https://fly.storage.tigris.dev/a.b"),
        ("https://fly.storage.tigris.dev/", "path", "idx", "https://fly.storage.tigris.dev/idx"),
    ],
)
def test_the_bucket_url_follows_the_addressing_style(
    endpoint: str, style: str, bucket: str, url: str
) -> None:
    settings = S3Settings(s3_endpoint_url=endpoint, s3_bucket=bucket, s3_addressing_style=style)
    assert bucket_url(settings) == url
