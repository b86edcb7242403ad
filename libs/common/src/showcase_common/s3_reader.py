"""The agents' side of the object store: signed GET and HEAD requests over httpx, no boto3.

An agent only reads (the pointer and generation objects, `snapshot_store.SnapshotSource`) and
runs beside the Rails application on every machine: boto3 and botocore would cost it ~30 MiB of
resident memory for three kinds of request (docs/performance.md). The requests are signed with
AWS Signature Version 4 by `httpx_auth.AWS4Auth`, and answer exactly as `S3SnapshotStore` does
for the same calls (the same errors, the same Ed25519 checks before anything is used), which
`tests/integration/machine_agent/test_s3_reader.py` holds them to against a real S3 server.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
from httpx_auth import AWS4Auth

from showcase_common.events import Snapshot
from showcase_common.settings import S3Settings
from showcase_common.signing import SIGNATURE_METADATA, BadSignature, SnapshotVerifier
from showcase_common.snapshot_store import (
    ChecksumMismatch,
    Pointer,
    SignatureRefused,
    SnapshotLayout,
    SnapshotMissing,
    SnapshotStoreError,
)

_METADATA_HEADER = f"x-amz-meta-{SIGNATURE_METADATA}"
_ERROR_CODE = re.compile(rb"<Code>([^<]{1,100})</Code>")
_CHUNK = 1 << 20


class S3SnapshotReader:
    """A `SnapshotSource` over S3's REST API: `check_bucket` (HEAD bucket), `read_pointer`
    (GET), `download` (HEAD for the signature, then GET, streamed to disk and hashed)."""

    def __init__(
        self,
        client: httpx.Client,
        bucket: str,
        prefix: str = "db",
        *,
        verifier: SnapshotVerifier | None = None,
    ) -> None:
        self._http = client
        self.bucket = bucket
        self.layout = SnapshotLayout(prefix.strip("/"))
        self.verifier = verifier
        """Checks what this reader reads; None reads without checking."""

    @classmethod
    def from_settings(
        cls, settings: S3Settings, *, verifier: SnapshotVerifier | None = None
    ) -> S3SnapshotReader:
        """A reader for `settings`' bucket (nothing connects here)."""
        auth = AWS4Auth(
            access_id=settings.aws_access_key_id or "local",
            secret_key=settings.aws_secret_access_key or "local",
            region=settings.s3_region,
            service="s3",
        )
        client = httpx.Client(
            base_url=bucket_url(settings),
            auth=auth,
            timeout=httpx.Timeout(
                settings.s3_read_timeout_s, connect=settings.s3_connect_timeout_s
            ),
        )
        return cls(client, settings.s3_bucket, settings.s3_prefix, verifier=verifier)

    def close(self) -> None:
        self._http.close()

    def generation_key(self, generation: int) -> str:
        return self.layout.generation_key(generation)

    def check_bucket(self) -> None:
        """`SnapshotStoreError` with a clear reason when the bucket is unusable (what `/readyz`
        shows): missing, refused credentials, unreachable."""
        response = self._request("HEAD", "/")
        if response.status_code == 404:
            raise SnapshotStoreError(f"bucket {self.bucket!r} does not exist")
        if response.status_code == 403:
            code = _code(response) or "403"
            raise SnapshotStoreError(
                f"access to bucket {self.bucket!r} refused ({code}): check "
                "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
            )
        if response.is_error:
            raise SnapshotStoreError(f"bucket {self.bucket!r}: {_described(response)}")

    def read_pointer(self) -> tuple[Pointer | None, str | None]:
        """The pointer (newest snapshot and pin) and its ETag; (None, None) when unset;
        `SignatureRefused` when a verifier is set and its signature does not verify."""
        key = self.layout.pointer_key
        response = self._request("GET", _path(key))
        if response.status_code == 404:
            return None, None
        if response.is_error:
            raise SnapshotStoreError(f"cannot read {key}: {_described(response)}")
        body = response.content
        if self.verifier is not None:
            try:
                self.verifier.verify_pointer(body, response.headers.get(_METADATA_HEADER))
            except BadSignature as exc:
                raise SignatureRefused(f"{key} refused: {exc}") from exc
        try:
            return Pointer.model_validate(json.loads(body)), response.headers.get("etag")
        except ValueError as exc:
            raise SnapshotStoreError(f"unreadable pointer {key}: {exc}") from exc

    def download(self, snapshot: Snapshot, dest: Path) -> None:
        """`snapshot` to `dest`, its sha256 checked (`ChecksumMismatch`); `SnapshotMissing` when
        the store has no such object; with a verifier, `SignatureRefused` (before downloading)
        unless the object carries the syncer's signature of exactly this snapshot."""
        if self.verifier is not None:
            self._verify_generation(snapshot)
        digest = hashlib.sha256()
        try:
            with self._http.stream("GET", _path(snapshot.object_key)) as response:
                _check_download(response, snapshot.object_key)
                with dest.open("wb") as out:
                    for chunk in response.iter_bytes(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        except httpx.TransportError as exc:
            dest.unlink(missing_ok=True)
            raise _unreachable(exc) from exc
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        if digest.hexdigest() != snapshot.sha256:
            dest.unlink(missing_ok=True)
            raise ChecksumMismatch(
                f"snapshot {snapshot.object_key} has sha256 {digest.hexdigest()}, "
                f"expected {snapshot.sha256}"
            )

    def _verify_generation(self, snapshot: Snapshot) -> None:
        assert self.verifier is not None
        response = self._request("HEAD", _path(snapshot.object_key))
        if response.status_code == 404:
            raise SnapshotMissing(f"no object {snapshot.object_key} in the store")
        if response.is_error:
            raise SnapshotStoreError(f"cannot read {snapshot.object_key}: {_described(response)}")
        try:
            self.verifier.verify_generation(snapshot, response.headers.get(_METADATA_HEADER))
        except BadSignature as exc:
            raise SignatureRefused(f"{snapshot.object_key} refused: {exc}") from exc

    def _request(self, method: str, path: str) -> httpx.Response:
        try:
            return self._http.request(method, path)
        except httpx.TransportError as exc:
            raise _unreachable(exc) from exc


def _check_download(response: httpx.Response, key: str) -> None:
    if response.status_code == 404:
        raise SnapshotMissing(f"no object {key} in the store")
    if response.is_error:
        response.read()
        raise SnapshotStoreError(f"cannot download {key}: {_described(response)}")


def bucket_url(settings: S3Settings) -> str:
    """The bucket's base URL: path style (`endpoint/bucket`), or virtual-host style
    (`bucket.endpoint`) when `s3_addressing_style` is `virtual` or, for `auto`, when the
    endpoint is a DNS name and the bucket a DNS label (what the S3 clients do)."""
    endpoint = settings.s3_endpoint_url or f"https://s3.{settings.s3_region}.amazonaws.com"
    parts = urlsplit(endpoint.rstrip("/"))
    if _virtual_host(settings.s3_addressing_style, parts.hostname or "", settings.s3_bucket):
        return f"{parts.scheme}://{settings.s3_bucket}.{parts.netloc}{parts.path}"
    return f"{endpoint.rstrip('/')}/{quote(settings.s3_bucket, safe='')}"


def _virtual_host(style: str, host: str, bucket: str) -> bool:
    if style != "auto":
        return style == "virtual"
    is_ip = re.fullmatch(r"[\d.]+|\[?[0-9a-fA-F:]+\]?", host) is not None
    dns_label = re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", bucket) is not None
    return dns_label and not is_ip and host != "localhost"


def _path(key: str) -> str:
    return "/" + quote(key, safe="/~")


def _code(response: httpx.Response) -> str | None:
    match = _ERROR_CODE.search(response.content or b"")
    return match[1].decode(errors="replace") if match else None


def _described(response: httpx.Response) -> str:
    code = _code(response)
    return f"{response.status_code} {code or response.reason_phrase}"


def _unreachable(exc: httpx.TransportError) -> SnapshotStoreError:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return SnapshotStoreError(f"S3 endpoint unreachable: {exc}")
    return SnapshotStoreError(f"{type(exc).__name__}: {exc}")
