"""The tests' snapshot signing key pair: what the tests' syncers sign with and their agents
verify with (not the public development pair, which only SHOWCASE_DEV_MODE=1 accepts)."""

from __future__ import annotations

from showcase_common.signing import SnapshotSigner, SnapshotVerifier

TEST_SIGNING_KEY = "48uM2KpD3gDSSMuNgAHznSckrQSZrwzz0589rWfMak0="
TEST_VERIFY_KEY = "qpQtE5CH1TeVgnRbwvaGPIp96XMwRr3jSkiwhoYeVzY="
SIGNING_ENV = {"SNAPSHOT_SIGNING_KEY": TEST_SIGNING_KEY}
VERIFY_ENV = {"SNAPSHOT_VERIFY_KEY": TEST_VERIFY_KEY}


def signer_of_tests() -> SnapshotSigner:
    return SnapshotSigner.from_base64(TEST_SIGNING_KEY)


def verifier_of_tests() -> SnapshotVerifier:
    return SnapshotVerifier.from_base64(TEST_VERIFY_KEY)
