"""Index snapshots in the object store: the layout and the only code that touches it.

    {prefix}/generations/{generation:012d}.sqlite3   immutable, sha256 in its metadata
    {prefix}/latest.json                             pointer to the newest generation
                                                     (and, after a rollback, the pin)
    {prefix}/index.sqlite3                           legacy copy for machines of the old system

Old generations are removed by the syncer's retention (`list_generations`, `delete`); the pointer
and the legacy copy are never touched by it.

A generation object is written once (If-None-Match: *), so two syncers that pick the same number
cannot overwrite each other: the second gets `GenerationTaken`. The pointer only ever moves
forward: it is written with If-Match on the ETag that was read (or If-None-Match: * when there is
none), so of two syncers racing, the older loses with `PointerConflict` and takes a fresh
generation. The legacy copy carries its generation in its metadata and is never replaced by an
older one. A legacy copy WITHOUT that metadata was not written by the pipeline (the Rails
application's own upload, say): it is left alone unless the caller adopts it explicitly
(`adopt=True`, the syncer's `SYNCER_ADOPT_LEGACY_INDEX`), after which it carries our metadata.

The pointer is a `Pointer`: the newest `Snapshot`, plus a `Pin` when an operator rolled the
fleet back (`showcasectl rollback`): the generation the fleet must serve instead, so a booting
machine catches up to it, not to the newest. The syncer's next publication drops the pin (the
fleet rolls forward) unless it `hold`s (`rollback --pin`: until `showcasectl unpin`).

Signatures (`showcase_common.signing`): a store given a `signer` (the syncer's) signs every
generation object and pointer it writes (metadata `signature`); a store given a `verifier` (an
agent's) refuses a pointer or generation whose signature does not verify (`SignatureRefused`),
before anything of it is used.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from showcase_common.events import Snapshot
from showcase_common.settings import S3Settings
from showcase_common.signing import (
    SIGNATURE_METADATA,
    BadSignature,
    SnapshotSigner,
    SnapshotVerifier,
)
from showcase_common.snapshot_store import (
    ChecksumMismatch,
    GenerationTaken,
    Pin,
    Pointer,
    PointerConflict,
    SignatureRefused,
    SnapshotLayout,
    SnapshotMissing,
    SnapshotSource,
    SnapshotStore,
    SnapshotStoreError,
    StoredGeneration,
    sha256_file,
)

__all__ = [
    "ChecksumMismatch",
    "GenerationTaken",
    "Pin",
    "Pointer",
    "PointerConflict",
    "S3SnapshotStore",
    "SignatureRefused",
    "SnapshotLayout",
    "SnapshotMissing",
    "SnapshotSource",
    "SnapshotStore",
    "SnapshotStoreError",
    "StoredGeneration",
    "make_s3_client",
    "sha256_file",
]

_CONFLICT_CODES = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}


def make_s3_client(settings: S3Settings) -> Any:
    """A boto3 S3 client for AWS, Tigris or any S3-compatible endpoint."""
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.aws_access_key_id or "local",
        aws_secret_access_key=settings.aws_secret_access_key or "local",
        config=Config(
            s3={"addressing_style": settings.s3_addressing_style},
            connect_timeout=settings.s3_connect_timeout_s,
            read_timeout=settings.s3_read_timeout_s,
            retries={"max_attempts": 1, "mode": "standard"},
            request_checksum_calculation="when_supported",
        ),
    )


class S3SnapshotStore:
    """The `SnapshotStore` over S3 (boto3)."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = "db",
        *,
        signer: SnapshotSigner | None = None,
        verifier: SnapshotVerifier | None = None,
    ) -> None:
        self._s3 = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.layout = SnapshotLayout(self.prefix)
        self.signer = signer
        """Signs what this store writes (the syncer's)."""
        self.verifier = verifier
        """Checks what this store reads (an agent's); None reads without checking."""

    @classmethod
    def from_settings(
        cls,
        settings: S3Settings,
        *,
        signer: SnapshotSigner | None = None,
        verifier: SnapshotVerifier | None = None,
    ) -> S3SnapshotStore:
        return cls(
            make_s3_client(settings),
            settings.s3_bucket,
            settings.s3_prefix,
            signer=signer,
            verifier=verifier,
        )

    def generation_key(self, generation: int) -> str:
        return self.layout.generation_key(generation)

    @property
    def pointer_key(self) -> str:
        return self.layout.pointer_key

    @property
    def legacy_key(self) -> str:
        return self.layout.legacy_key

    def check_bucket(self) -> None:
        """Raise `SnapshotStoreError` with a clear reason when the bucket is unusable.

        Missing bucket, refused credentials and an unreachable endpoint each get their own message
        (this is what `/readyz` shows).
        """
        with _s3_errors(refine=self._bucket_error):
            self._s3.head_bucket(Bucket=self.bucket)

    def _bucket_error(self, exc: ClientError) -> SnapshotStoreError:
        code = _code(exc)
        if code in {"404", "NoSuchBucket", "NotFound"}:
            return SnapshotStoreError(f"bucket {self.bucket!r} does not exist")
        if code in {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
            return SnapshotStoreError(
                f"access to bucket {self.bucket!r} refused ({code}): check "
                "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
            )
        return SnapshotStoreError(f"bucket {self.bucket!r}: {exc}")

    def ensure_bucket(self) -> None:
        try:
            self._s3.head_bucket(Bucket=self.bucket)
        except ClientError:
            self._call(self._s3.create_bucket, Bucket=self.bucket)

    def latest(self) -> tuple[Snapshot | None, str | None]:
        """The newest snapshot the pointer names, and the pointer's ETag (None, None when unset)."""
        pointer, etag = self.read_pointer()
        return (pointer.newest if pointer else None), etag

    def read_pointer(self) -> tuple[Pointer | None, str | None]:
        """The pointer (newest snapshot and pin), and its ETag (None, None when unset)."""
        with _s3_errors():
            response = _unless_missing(
                self._s3.get_object, Bucket=self.bucket, Key=self.pointer_key
            )
            if response is None:
                return None, None
            body = response["Body"].read()
        if self.verifier is not None:
            signature = response.get("Metadata", {}).get(SIGNATURE_METADATA)
            try:
                self.verifier.verify_pointer(body, signature)
            except BadSignature as exc:
                raise SignatureRefused(f"{self.pointer_key} refused: {exc}") from exc
        try:
            return Pointer.model_validate(json.loads(body)), response["ETag"]
        except ValueError as exc:
            raise SnapshotStoreError(f"unreadable pointer {self.pointer_key}: {exc}") from exc

    def upload(self, path: Path, generation: int, sha256: str) -> Snapshot:
        """Upload an immutable generation object; its checksum goes in metadata and S3's own.

        S3 verifies the body against `sha256` (ChecksumSHA256), so what is stored is what was
        hashed. Raises `GenerationTaken` when the generation already exists.
        """
        key = self.generation_key(generation)
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ChecksumMismatch(f"{path} changed since its sha256 was taken")
        snapshot = Snapshot(generation=generation, object_key=key, sha256=sha256, size=len(data))
        metadata = {"sha256": sha256, "generation": str(generation)}
        if self.signer is not None:
            metadata[SIGNATURE_METADATA] = self.signer.sign_generation(snapshot)
        taken = GenerationTaken(f"generation {generation} already exists")
        with _s3_errors(refine=_on_conflict(taken)):
            self._s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                Metadata=metadata,
                ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode(),
                IfNoneMatch="*",
            )
        return snapshot

    def advance_pointer(
        self, snapshot: Snapshot, expected_etag: str | None, pin: Pin | None = None
    ) -> None:
        """Point `latest` at `snapshot` (keeping `pin` when given), only if nobody moved it
        since we read `expected_etag`."""
        moved = PointerConflict(f"pointer moved past generation {snapshot.generation}")
        self.write_pointer(Pointer.of(snapshot, pin).body(), expected_etag, moved)

    def set_pin(self, pin: Pin | None, expected_etag: str | None) -> None:
        """Pin the fleet (or, with None, unpin it), the newest snapshot unchanged, only if the
        pointer is still at `expected_etag`."""
        current, etag = self.read_pointer()
        if current is None:
            raise SnapshotStoreError("no pointer yet: nothing was ever published to pin")
        if etag != expected_etag:
            raise PointerConflict(f"{self.pointer_key} moved since it was read")
        self.write_pointer(Pointer.of(current.newest, pin).body(), expected_etag)

    def describe(self, generation: int) -> Snapshot | None:
        """The stored generation as a `Snapshot` (its sha256 from its metadata), or None when
        the store no longer holds it."""
        key = self.generation_key(generation)
        with _s3_errors():
            head = _unless_missing(self._s3.head_object, Bucket=self.bucket, Key=key)
        if head is None:
            return None
        sha256 = head.get("Metadata", {}).get("sha256", "")
        return Snapshot(
            generation=generation, object_key=key, sha256=sha256, size=head["ContentLength"]
        )

    def write_pointer(
        self, body: bytes, expected_etag: str | None, moved: PointerConflict | None = None
    ) -> None:
        """Write `body` as the pointer, signed, only if it is still at `expected_etag` (None:
        only if there is none). The one place a pointer is written."""
        condition = {"IfMatch": expected_etag} if expected_etag else {"IfNoneMatch": "*"}
        metadata = {}
        if self.signer is not None:
            metadata[SIGNATURE_METADATA] = self.signer.sign_pointer(body)
        conflict = moved or PointerConflict(f"{self.pointer_key} moved since it was read")
        with _s3_errors(refine=_on_conflict(conflict)):
            self._s3.put_object(
                Bucket=self.bucket,
                Key=self.pointer_key,
                Body=body,
                ContentType="application/json",
                Metadata=metadata,
                **condition,
            )

    def upload_legacy(self, path: Path, generation: int, *, adopt: bool = False) -> bool:
        """Refresh the legacy copy, never replacing a newer one by an older, nor one the
        pipeline did not write (no generation in its metadata) unless `adopt`. False when a
        foreign copy was left alone; True when the copy is ours (written now or newer)."""
        for _ in range(5):  # a lost race only means someone wrote a newer copy: look again
            head = self._legacy_head()
            current = _generation_of(head)
            if head is not None and current is None and not adopt:
                return False
            if current is not None and current >= generation:
                return True
            condition = {"IfMatch": head["ETag"]} if head else {"IfNoneMatch": "*"}
            try:
                with _s3_errors(refine=_on_conflict(_LegacyMoved())):
                    self._s3.put_object(
                        Bucket=self.bucket,
                        Key=self.legacy_key,
                        Body=path.read_bytes(),
                        Metadata={"sha256": sha256_file(path), "generation": str(generation)},
                        **condition,
                    )
                return True
            except _LegacyMoved:
                continue
        raise PointerConflict(f"legacy copy kept moving while writing generation {generation}")

    def _legacy_head(self) -> dict[str, Any] | None:
        with _s3_errors():
            head: dict[str, Any] | None = _unless_missing(
                self._s3.head_object, Bucket=self.bucket, Key=self.legacy_key
            )
        return head

    def list_generations(self) -> list[StoredGeneration]:
        """Every generation object in the store, oldest generation first."""
        prefix = f"{self.prefix}/generations/"
        pattern = re.compile(re.escape(prefix) + r"(\d+)\.sqlite3$")
        found = []
        paginator = self._s3.get_paginator("list_objects_v2")
        pages = self._call(lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=prefix)))
        for page in pages:
            for item in page.get("Contents", []):
                if match := pattern.match(item["Key"]):
                    found.append(StoredGeneration(int(match[1]), item["Key"], item["LastModified"]))
        return sorted(found, key=lambda g: g.generation)

    def delete(self, keys: list[str]) -> None:
        """Delete these objects (1,000 per request, the S3 limit); missing ones are no error."""
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": key} for key in keys[start : start + 1000]]
            response = self._call(
                self._s3.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": chunk, "Quiet": True},
            )
            if errors := response.get("Errors"):
                first = errors[0]
                raise SnapshotStoreError(
                    f"could not delete {len(errors)} object(s), e.g. {first.get('Key')}: "
                    f"{first.get('Code')} {first.get('Message')}"
                )

    def download(self, snapshot: Snapshot, dest: Path) -> None:
        """Download `snapshot` to `dest`, verifying its sha256; `ChecksumMismatch` if it differs,
        `SnapshotMissing` if the store has no such object (any other failure: the base error).
        With a verifier, `SignatureRefused` (before downloading) unless the object carries the
        syncer's signature of exactly this snapshot."""
        if self.verifier is not None:
            self._verify_generation(snapshot)
        try:
            self._s3.download_file(self.bucket, snapshot.object_key, str(dest))
        except ClientError as exc:
            dest.unlink(missing_ok=True)
            if _code(exc) in _MISSING_CODES:
                raise SnapshotMissing(f"no object {snapshot.object_key} in the store") from exc
            raise SnapshotStoreError(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            dest.unlink(missing_ok=True)
            raise SnapshotStoreError(f"{type(exc).__name__}: {exc}") from exc
        actual = sha256_file(dest)
        if actual != snapshot.sha256:
            dest.unlink(missing_ok=True)
            raise ChecksumMismatch(
                f"snapshot {snapshot.object_key} has sha256 {actual}, expected {snapshot.sha256}"
            )

    def _verify_generation(self, snapshot: Snapshot) -> None:
        assert self.verifier is not None
        with _s3_errors():
            head = _unless_missing(
                self._s3.head_object, Bucket=self.bucket, Key=snapshot.object_key
            )
        if head is None:
            raise SnapshotMissing(f"no object {snapshot.object_key} in the store")
        signature = head.get("Metadata", {}).get(SIGNATURE_METADATA)
        try:
            self.verifier.verify_generation(snapshot, signature)
        except BadSignature as exc:
            raise SignatureRefused(f"{snapshot.object_key} refused: {exc}") from exc

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with _s3_errors():
            return fn(*args, **kwargs)


class _LegacyMoved(PointerConflict):
    """Someone wrote the legacy copy between our read and our write: look again."""


_Refine = Callable[[ClientError], SnapshotStoreError | None]


@contextlib.contextmanager
def _s3_errors(refine: _Refine | None = None) -> Iterator[None]:
    """The one translation of the S3 client's failures into `SnapshotStoreError`s.

    `refine` turns an S3 error answer into a more precise error (a conflict, a missing bucket),
    or None for the generic one, the answer's own text."""
    try:
        yield
    except SnapshotStoreError:
        raise
    except ClientError as exc:
        refined = refine(exc) if refine is not None else None
        raise (refined or SnapshotStoreError(str(exc))) from exc
    except EndpointConnectionError as exc:
        raise SnapshotStoreError(f"S3 endpoint unreachable: {exc}") from exc
    except Exception as exc:
        raise SnapshotStoreError(f"{type(exc).__name__}: {exc}") from exc


def _on_conflict(error: PointerConflict) -> _Refine:
    """Precondition failures (If-Match, If-None-Match) are `error`; the rest the generic one."""
    return lambda exc: error if _code(exc) in _CONFLICT_CODES else None


def _unless_missing(fn: Callable[..., Any], **kwargs: Any) -> Any | None:
    """fn(**kwargs), None when the object does not exist (other failures pass through)."""
    try:
        return fn(**kwargs)
    except ClientError as exc:
        if _code(exc) in _MISSING_CODES:
            return None
        raise


def _generation_of(head: dict[str, Any] | None) -> int | None:
    """The generation the pipeline wrote into an object's metadata; None when it holds none."""
    raw = (head or {}).get("Metadata", {}).get("generation")
    return int(raw) if raw and raw.isdigit() else None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
