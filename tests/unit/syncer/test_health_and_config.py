"""The syncer's HTTP surface, its settings and its ledger keys, without any server."""

from __future__ import annotations

import httpx
import pytest
from showcase_common.health import create_health_app
from syncer.config import SyncerSettings
from syncer.ledger import ledger_key


async def _ok() -> None:
    return None


async def _missing_bucket() -> None:
    raise RuntimeError("bucket 'showcase-index' does not exist")


async def _get(checks, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_health_app(checks))
    async with httpx.AsyncClient(transport=transport, base_url="http://syncer") as client:
        return await client.get(path)


async def test_readyz_names_what_is_not_ready_and_logs_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    response = await _get({"nats": _ok, "s3": _missing_bucket}, "/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "not ready", "checks": {"nats": "ok", "s3": "unavailable"}}
    assert "showcase-index" not in response.text  # the reason is for the log, not the internet
    assert "s3 is not usable: bucket 'showcase-index' does not exist" in caplog.text
    assert (await _get({"nats": _ok, "s3": _ok}, "/readyz")).status_code == 200
    assert (await _get({"s3": _missing_bucket}, "/healthz")).json() == {"status": "ok"}


def test_settings_come_from_the_documented_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INDEX_DB_PATH", "/srv/index.sqlite3")
    monkeypatch.setenv("SYNCER_PORT", "9002")
    monkeypatch.setenv("S3_BUCKET", "tigris-bucket")
    monkeypatch.setenv("SYNCER_S3_ATTEMPTS", "7")
    settings = SyncerSettings(_env_file=None)
    assert str(settings.index_db_path) == "/srv/index.sqlite3"
    assert (settings.syncer_port, settings.s3_bucket, settings.syncer_s3_attempts) == (
        9002,
        "tigris-bucket",
        7,
    )
    monkeypatch.delenv("INDEX_DB_PATH")
    assert str(SyncerSettings(_env_file=None).index_db_path) == ".data/index/index.sqlite3"


def test_ledger_keys_stay_inside_the_kv_alphabet() -> None:
    assert ledger_key("0f3a9c") == "0f3a9c"
    odd = ledger_key("studio request #1 (é)")
    assert odd.startswith("h.") and odd == ledger_key("studio request #1 (é)")
