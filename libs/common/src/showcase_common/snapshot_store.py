"""Index snapshots in the object store: the layout, the pointer, the errors and the port —
everything but a client library (the adapters: `snapshots.S3SnapshotStore` over boto3 for the
writers, `s3_reader.S3SnapshotReader` over signed HTTP GETs for the agents, which only read).

    {prefix}/generations/{generation:012d}.sqlite3   immutable, sha256 in its metadata
    {prefix}/latest.json                             pointer to the newest generation
                                                     (and, after a rollback, the pin)
    {prefix}/index.sqlite3                           legacy copy for machines of the old system

See `showcase_common.snapshots` for how they are written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from showcase_common.events import Snapshot


@dataclass(frozen=True)
class SnapshotLayout:
    """Where the snapshots live under a prefix of the bucket."""

    prefix: str = "db"

    def generation_key(self, generation: int) -> str:
        return f"{self.prefix}/generations/{generation:012d}.sqlite3"

    @property
    def pointer_key(self) -> str:
        return f"{self.prefix}/latest.json"

    @property
    def legacy_key(self) -> str:
        return f"{self.prefix}/index.sqlite3"


class Pin(BaseModel):
    """The fleet is pinned to `snapshot` by an operator's rollback."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    snapshot: Snapshot
    hold: bool = False
    """`rollback --pin`: ordinary requests do not roll forward until `unpin`."""
    by: str = Field(max_length=200)
    reason: str = Field(default="", max_length=1000)
    at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))


class Pointer(Snapshot):
    """What `latest.json` holds: the newest snapshot's fields, and the pin when there is one."""

    pin: Pin | None = None

    @property
    def newest(self) -> Snapshot:
        return Snapshot.model_validate(self.model_dump(exclude={"pin"}))

    @property
    def target(self) -> Snapshot:
        """What the fleet must serve: the pinned snapshot, else the newest."""
        return self.pin.snapshot if self.pin is not None else self.newest

    @classmethod
    def of(cls, snapshot: Snapshot, pin: Pin | None = None) -> Pointer:
        return cls(**snapshot.model_dump(), pin=pin)

    def body(self) -> bytes:
        # Without a pin, exactly the old pointer's JSON: older readers keep reading it.
        return self.model_dump_json(exclude_none=self.pin is None).encode()


@dataclass(frozen=True)
class StoredGeneration:
    generation: int
    key: str
    last_modified: dt.datetime


class SnapshotStoreError(Exception):
    """The object store failed or refused (a transient outage, wrong credentials, ...)."""


class ChecksumMismatch(SnapshotStoreError):
    """A downloaded snapshot does not match the checksum it was published with."""


class SnapshotMissing(SnapshotStoreError):
    """The store answered, and it holds no object under the snapshot's key."""


class SignatureRefused(ChecksumMismatch):
    """A pointer or generation object whose signature is missing or does not verify: not the
    syncer's. Refused like a checksum mismatch (retrying cannot fix it)."""


class PointerConflict(SnapshotStoreError):
    """Another writer moved the pointer between our read and our write."""


class GenerationTaken(PointerConflict):
    """Another writer already uploaded this generation: take a higher one."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class SnapshotSource(Protocol):
    """What an agent needs of the store: it only reads (the pointer, a generation), and checks
    signatures as it does (`SignatureRefused`). Every `SnapshotStore` is one."""

    def generation_key(self, generation: int) -> str: ...

    def check_bucket(self) -> None: ...

    def read_pointer(self) -> tuple[Pointer | None, str | None]: ...

    def download(self, snapshot: Snapshot, dest: Path) -> None: ...


class SnapshotStore(Protocol):
    """The port: where generations of the index and the pointer to the newest one live.

    `S3SnapshotStore` is the adapter; tests use the in-memory one in `tests/support/fakes`.
    Every method blocks (callers run it in a thread) and raises `SnapshotStoreError`.
    """

    def generation_key(self, generation: int) -> str: ...

    def check_bucket(self) -> None: ...

    def ensure_bucket(self) -> None: ...

    def latest(self) -> tuple[Snapshot | None, str | None]: ...

    def read_pointer(self) -> tuple[Pointer | None, str | None]: ...

    def upload(self, path: Path, generation: int, sha256: str) -> Snapshot: ...

    def advance_pointer(
        self, snapshot: Snapshot, expected_etag: str | None, pin: Pin | None = None
    ) -> None: ...

    def set_pin(self, pin: Pin | None, expected_etag: str | None) -> None: ...

    def describe(self, generation: int) -> Snapshot | None: ...

    def upload_legacy(self, path: Path, generation: int, *, adopt: bool = False) -> bool: ...

    def list_generations(self) -> list[StoredGeneration]: ...

    def delete(self, keys: list[str]) -> None: ...

    def download(self, snapshot: Snapshot, dest: Path) -> None: ...
