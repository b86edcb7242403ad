"""Snapshot signatures (`showcase_common.signing`): what verifies, what is refused, and the keys'
settings (required outside the local run, saying how to make a pair)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError
from showcase_common.events import Snapshot
from showcase_common.settings import (
    DEV_SNAPSHOT_SIGNING_KEY,
    DEV_SNAPSHOT_VERIFY_KEY,
    SnapshotSigningSettings,
    SnapshotVerifySettings,
)
from showcase_common.signing import BadSignature, SnapshotSigner, SnapshotVerifier

from tests.support.signing import TEST_VERIFY_KEY, signer_of_tests, verifier_of_tests

SNAPSHOT = Snapshot(
    generation=7, object_key="db/generations/000000000007.sqlite3", sha256="a" * 64, size=123
)


def test_a_generation_signed_by_the_syncer_verifies_and_any_change_is_refused() -> None:
    signature = signer_of_tests().sign_generation(SNAPSHOT)
    verifier_of_tests().verify_generation(SNAPSHOT, signature)
    for changed in (
        SNAPSHOT.model_copy(update={"sha256": "b" * 64}),
        SNAPSHOT.model_copy(update={"generation": 8}),
        SNAPSHOT.model_copy(update={"object_key": "db/generations/000000000008.sqlite3"}),
        SNAPSHOT.model_copy(update={"size": 124}),
    ):
        with pytest.raises(BadSignature, match="does not verify"):
            verifier_of_tests().verify_generation(changed, signature)


def test_a_pointer_signature_covers_its_bytes_and_cannot_pass_for_a_generations() -> None:
    body = SNAPSHOT.model_dump_json().encode()
    signature = signer_of_tests().sign_pointer(body)
    verifier_of_tests().verify_pointer(body, signature)
    with pytest.raises(BadSignature):
        verifier_of_tests().verify_pointer(body + b" ", signature)
    with pytest.raises(BadSignature):  # another context: a generation's signature is no pointer's
        verifier_of_tests().verify_pointer(body, signer_of_tests().sign_generation(SNAPSHOT))


def test_missing_garbled_or_foreign_signatures_are_refused() -> None:
    other = SnapshotSigner.development()
    for signature, reason in (
        (None, "carries no signature"),
        ("", "carries no signature"),
        ("not base64!", "does not verify"),
        (other.sign_generation(SNAPSHOT), "does not verify"),
    ):
        with pytest.raises(BadSignature, match=reason):
            verifier_of_tests().verify_generation(SNAPSHOT, signature)


def test_the_development_pair_matches() -> None:
    dev = SnapshotSigner.development()
    assert dev.public_key == DEV_SNAPSHOT_VERIFY_KEY
    SnapshotVerifier.from_base64(DEV_SNAPSHOT_VERIFY_KEY).verify_generation(
        SNAPSHOT, dev.sign_generation(SNAPSHOT)
    )


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SNAPSHOT_SIGNING_KEY", "SNAPSHOT_VERIFY_KEY", "SHOWCASE_DEV_MODE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        (SnapshotSigningSettings, "SNAPSHOT_SIGNING_KEY"),
        (SnapshotVerifySettings, "SNAPSHOT_VERIFY_KEY"),
    ],
)
def test_outside_the_local_run_a_missing_or_public_key_stops_the_service(
    settings: type[SnapshotSigningSettings | SnapshotVerifySettings],
    variable: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValidationError, match=f"{variable} is not set: .*python -m syncer keygen"):
        settings(_env_file=None)
    for public in (DEV_SNAPSHOT_SIGNING_KEY, DEV_SNAPSHOT_VERIFY_KEY):
        monkeypatch.setenv(variable, public)
        with pytest.raises(ValidationError, match="public development value"):
            settings(_env_file=None)
    monkeypatch.setenv(variable, "c2hvcnQ=")
    with pytest.raises(ValidationError, match="Ed25519 key of 32 bytes"):
        settings(_env_file=None)


def test_the_local_run_gets_the_development_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOWCASE_DEV_MODE", "1")
    assert SnapshotSigningSettings(_env_file=None).signing_key == DEV_SNAPSHOT_SIGNING_KEY
    assert SnapshotVerifySettings(_env_file=None).verify_key == DEV_SNAPSHOT_VERIFY_KEY
    monkeypatch.setenv("SNAPSHOT_VERIFY_KEY", TEST_VERIFY_KEY)
    assert SnapshotVerifySettings(_env_file=None).verify_key == TEST_VERIFY_KEY


def test_syncer_keygen_prints_a_pair_that_works() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "keygen"], capture_output=True, text=True, check=True
    )
    keys = dict(line.split("=", 1) for line in done.stdout.splitlines())
    signer = SnapshotSigner.from_base64(keys["SNAPSHOT_SIGNING_KEY"])
    assert signer.public_key == keys["SNAPSHOT_VERIFY_KEY"]
    SnapshotVerifier.from_base64(keys["SNAPSHOT_VERIFY_KEY"]).verify_generation(
        SNAPSHOT, signer.sign_generation(SNAPSHOT)
    )
    assert "SNAPSHOT_SIGNING_KEY  the syncer's secret" in done.stderr
