"""Ed25519 signatures of what the syncer publishes in the object store (docs/SECURITY.md).

The one place where snapshot signatures are made and checked. The syncer holds the private
key (`SNAPSHOT_SIGNING_KEY`, a syncer-only secret); agents hold the public key
(`SNAPSHOT_VERIFY_KEY`) and apply nothing whose signature does not verify, so a machine with
write access to the bucket (or anyone else) cannot make the fleet serve an index the syncer did
not publish.

Two statements are signed, each with its own context so one can never pass for the other:

- a **generation object**: `showcase-generation-v1`, its generation, object key, sha256 and
  size, one per line (the sha256 binds the bytes);
- the **pointer** (`latest.json`, and any pointer written through `sign_pointer`): the context
  `showcase-pointer-v1` and the pointer's exact body bytes, whatever fields it holds.

A signature travels in the object's metadata (`x-amz-meta-signature`), base64. Keys are the raw
32 bytes, base64: `python -m syncer keygen` prints a new pair.

Ed25519 (RFC 8032) through PyNaCl (libsodium): the agents verify on every machine beside the
Rails application, and PyNaCl costs them ~5 MiB less resident memory than `cryptography`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from showcase_common.events import Snapshot
from showcase_common.settings import DEV_SNAPSHOT_SIGNING_KEY

SIGNATURE_METADATA = "signature"
"""The metadata key (S3 sends it as `x-amz-meta-signature`)."""
_GENERATION_CONTEXT = b"showcase-generation-v1\n"
_POINTER_CONTEXT = b"showcase-pointer-v1\n"


class BadSignature(ValueError):
    """A signature is missing, malformed or does not verify with the public key."""


def generation_statement(snapshot: Snapshot) -> bytes:
    """What a generation object's signature covers."""
    fields = (snapshot.generation, snapshot.object_key, snapshot.sha256, snapshot.size)
    return _GENERATION_CONTEXT + "\n".join(str(f) for f in fields).encode()


def pointer_statement(body: bytes) -> bytes:
    """What a pointer's signature covers: its exact bytes."""
    return _POINTER_CONTEXT + body


@dataclass(frozen=True)
class SnapshotSigner:
    """Signs generation objects and pointers (the syncer's, with the private key)."""

    key: SigningKey

    @classmethod
    def from_base64(cls, private_key: str) -> SnapshotSigner:
        return cls(SigningKey(_decode_key(private_key)))

    @classmethod
    def development(cls) -> SnapshotSigner:
        """The public development key pair (the local run and tests of it only)."""
        return cls.from_base64(DEV_SNAPSHOT_SIGNING_KEY)

    def sign_generation(self, snapshot: Snapshot) -> str:
        return _b64(self.key.sign(generation_statement(snapshot)).signature)

    def sign_pointer(self, body: bytes) -> str:
        return _b64(self.key.sign(pointer_statement(body)).signature)

    @property
    def public_key(self) -> str:
        """The matching `SNAPSHOT_VERIFY_KEY`."""
        return _b64(self.key.verify_key.encode())

    def verifier(self) -> SnapshotVerifier:
        return SnapshotVerifier(self.key.verify_key)


@dataclass(frozen=True)
class SnapshotVerifier:
    """Checks generation objects and pointers (the agents', with the public key)."""

    key: VerifyKey

    @classmethod
    def from_base64(cls, public_key: str) -> SnapshotVerifier:
        return cls(VerifyKey(_decode_key(public_key)))

    def verify_generation(self, snapshot: Snapshot, signature: str | None) -> None:
        """Raise `BadSignature` unless `signature` is the syncer's over this generation."""
        self._verify(generation_statement(snapshot), signature, f"generation {snapshot.generation}")

    def verify_pointer(self, body: bytes, signature: str | None) -> None:
        """Raise `BadSignature` unless `signature` is the syncer's over these pointer bytes."""
        self._verify(pointer_statement(body), signature, "the pointer")

    def _verify(self, statement: bytes, signature: str | None, what: str) -> None:
        if not signature:
            raise BadSignature(f"{what} carries no signature (not written by the syncer)")
        try:
            self.key.verify(statement, base64.b64decode(signature, validate=True))
        except (BadSignatureError, binascii.Error, ValueError) as exc:
            raise BadSignature(
                f"{what}'s signature does not verify with SNAPSHOT_VERIFY_KEY "
                "(forged, or signed with another key)"
            ) from exc


def generate_key_pair() -> tuple[str, str]:
    """A new (SNAPSHOT_SIGNING_KEY, SNAPSHOT_VERIFY_KEY), base64."""
    seed = SigningKey.generate().encode()  # the 32-byte seed: RFC 8032's private key
    signer = SnapshotSigner.from_base64(_b64(seed))
    return _b64(seed), signer.public_key


def key_fingerprint(public_key: str) -> str:
    """A short name for a public key in logs (its sha256, 16 hex digits)."""
    return hashlib.sha256(_decode_key(public_key)).hexdigest()[:16]


def _decode_key(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64") from exc
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 key is 32 bytes, this one {len(raw)}")
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
