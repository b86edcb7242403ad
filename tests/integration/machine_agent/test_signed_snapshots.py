"""Signed snapshots on a real S3 store (`weed mini` with identities: the syncer's key reads and
writes, the agents' only reads) and real agent processes: what the syncer signed is applied; a
forged pointer is refused at boot, a forged generation on update; the agents' key cannot write.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError
from devstack.config import s3_identities
from devstack.servers import WeedS3
from showcase_common.index import Showcase
from showcase_common.settings import S3Settings
from showcase_common.signing import SnapshotSigner
from showcase_common.snapshots import S3SnapshotStore, make_s3_client, sha256_file

from tests.support.agents import AgentFleet, publish_snapshot, sample_rows, write_index
from tests.support.signing import signer_of_tests
from tests.support.waiting import wait_until

BUCKET = "showcase-index"
SYNCER = ("syncer-key", "syncer-secret-0123456789")
AGENTS = ("agents-key", "agents-secret-0123456789")
AUTUMN = Showcase(id=11, location_id=2, year=2026, key="autumn", name="Autumn Gala", order=6)
FORGER = SnapshotSigner.from_base64("ZsSRM5qsOWKBD0tfUugqN2O+5d0rbEVT6+Fe5QLlHO0=")
"""A key that is not the syncer's: what a machine holding the bucket's write key could sign."""


@pytest.fixture(scope="module")
def s3_with_identities(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    identities = s3_identities(BUCKET, writer=SYNCER, reader=AGENTS)
    server = WeedS3(tmp_path_factory.mktemp("s3-identities"), identities=identities)
    try:
        yield server.start()
    finally:
        server.stop()


def _settings(endpoint: str, key: tuple[str, str], prefix: str) -> S3Settings:
    return S3Settings(
        s3_endpoint_url=endpoint,
        s3_bucket=BUCKET,
        s3_prefix=prefix,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
    )


@pytest.fixture
def prefix() -> str:
    return f"db-{uuid.uuid4().hex[:8]}"  # each test its own pointer and generations


@pytest.fixture
def syncer_settings(s3_with_identities: str, prefix: str) -> S3Settings:
    settings = _settings(s3_with_identities, SYNCER, prefix)
    client = make_s3_client(settings)
    try:
        client.create_bucket(Bucket=BUCKET)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise
    return settings


@pytest.fixture
def agents_settings(
    s3_with_identities: str, prefix: str, syncer_settings: S3Settings
) -> S3Settings:
    return _settings(s3_with_identities, AGENTS, prefix)


def _index(tmp_path: Path, name: str, *extra: Showcase) -> Path:
    path = tmp_path / f"{name}.sqlite3"
    write_index(path, *sample_rows(extra))
    return path


def test_the_agents_key_reads_but_cannot_write_or_delete(
    syncer_settings: S3Settings, agents_settings: S3Settings, tmp_path: Path
) -> None:
    syncer = S3SnapshotStore.from_settings(syncer_settings, signer=signer_of_tests())
    snapshot = publish_snapshot(syncer, _index(tmp_path, "one"), 1)
    agents = make_s3_client(agents_settings)
    assert agents.get_object(Bucket=BUCKET, Key=snapshot.object_key)["ContentLength"] > 0
    for attempt in (
        lambda: agents.put_object(Bucket=BUCKET, Key=f"{syncer.prefix}/latest.json", Body=b"{}"),
        lambda: agents.put_object(Bucket=BUCKET, Key=f"{syncer.prefix}/x", Body=b"x"),
        lambda: agents.delete_object(Bucket=BUCKET, Key=snapshot.object_key),
    ):
        with pytest.raises(ClientError) as refused:
            attempt()
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    # as an agent's store: the read-only key cannot move the pointer either
    as_agent = S3SnapshotStore.from_settings(agents_settings, signer=FORGER)
    with pytest.raises(Exception, match="AccessDenied"):
        as_agent.advance_pointer(snapshot, None)


def test_a_forged_pointer_is_refused_at_boot_and_a_signed_one_applied(
    agent_fleet: AgentFleet,
    syncer_settings: S3Settings,
    agents_settings: S3Settings,
    tmp_path: Path,
) -> None:
    syncer = S3SnapshotStore.from_settings(syncer_settings, signer=signer_of_tests())
    publish_snapshot(syncer, _index(tmp_path, "one"), 1)
    # Someone with the write key (not the syncer's signing key) uploads generation 2 and points
    # `latest` at it, signed with their own key.
    forger = S3SnapshotStore.from_settings(syncer_settings, signer=FORGER)
    _, etag = forger.latest()
    forged = forger.upload(_index(tmp_path, "forged", AUTUMN), 2, _sha(tmp_path / "forged.sqlite3"))
    forger.advance_pointer(forged, etag)

    agent = agent_fleet.start("m1", "ord", s3_settings=agents_settings)

    wait_until(
        lambda: _catch_up(agent.url).startswith("refused"), 60, "the boot catch-up to refuse"
    )
    assert agent.status()["generation"] is None  # nothing of it applied
    assert "latest.json refused" in agent.logs() and "does not verify" in agent.logs()
    # The syncer's next publication (signed) replaces the pointer; a restarted agent applies it.
    agent.stop()
    _, etag = syncer.latest()
    good = syncer.upload(_index(tmp_path, "three", AUTUMN), 3, _sha(tmp_path / "three.sqlite3"))
    syncer.advance_pointer(good, etag)
    agent.start()
    agent.wait_for_generation(3)
    assert "Autumn Gala" in httpx.get(agent.url + "/showcase/2026/chicago/autumn/").text


def test_an_unsigned_pointer_is_refused_at_boot(
    agent_fleet: AgentFleet,
    syncer_settings: S3Settings,
    agents_settings: S3Settings,
    tmp_path: Path,
) -> None:
    unsigned = S3SnapshotStore.from_settings(syncer_settings)  # e.g. a syncer from before
    publish_snapshot(unsigned, _index(tmp_path, "one"), 1)
    agent = agent_fleet.start("m1", "ord", s3_settings=agents_settings)
    wait_until(
        lambda: _catch_up(agent.url).startswith("refused"), 60, "the boot catch-up to refuse"
    )
    assert agent.status()["generation"] is None
    assert "carries no signature" in agent.logs()


def test_a_forged_generation_is_refused_on_update_and_a_signed_one_applied(
    agent_fleet: AgentFleet,
    syncer_settings: S3Settings,
    agents_settings: S3Settings,
    tmp_path: Path,
) -> None:
    syncer = S3SnapshotStore.from_settings(syncer_settings, signer=signer_of_tests())
    agent = agent_fleet.start("m1", "ord", s3_settings=agents_settings)
    forger = S3SnapshotStore.from_settings(syncer_settings, signer=FORGER)
    forged = forger.upload(_index(tmp_path, "forged", AUTUMN), 1, _sha(tmp_path / "forged.sqlite3"))
    unsigned = S3SnapshotStore.from_settings(syncer_settings)
    bare = unsigned.upload(_index(tmp_path, "bare", AUTUMN), 2, _sha(tmp_path / "bare.sqlite3"))

    for snapshot, reason in ((forged, "does not verify"), (bare, "carries no signature")):
        refused = agent.update(snapshot)
        assert refused.status_code == 422, refused.text
        assert reason in refused.json()["detail"]
    assert agent.status()["generation"] is None

    good = publish_snapshot(syncer, _index(tmp_path, "good", AUTUMN), 3, advance=False)
    applied = agent.update(good)
    assert applied.status_code == 200, applied.text
    assert agent.status()["generation"] == 3


def _catch_up(url: str) -> str:
    return str(httpx.get(url + "/readyz", timeout=5).json().get("catch_up", ""))


def _sha(path: Path) -> str:
    return sha256_file(path)
