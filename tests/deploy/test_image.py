"""What the image is built from, read from deploy/Dockerfile and .dockerignore (the compose test,
tests/compose, checks the running image: the service user cannot write its code)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()


def _final_stage() -> str:
    return DOCKERFILE.rsplit("\nFROM ", 1)[1]


def test_the_code_is_not_given_to_the_service_user() -> None:
    final = _final_stage()
    assert "USER app" in final
    assert not re.search(r"COPY[^\n]*--chown", final), "code copied as the service user's"
    assert "chown -R app /data" in final  # its volumes, and only those


def test_secrets_and_local_data_stay_out_of_the_build_context() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".data", ".env", ".env.*"} <= ignored


def test_what_can_be_pinned_is_pinned() -> None:
    assert re.search(r"ARG UV_VERSION=\d+\.\d+\.\d+", DOCKERFILE)
    assert DOCKERFILE.count("uv sync --frozen") == 2  # uv.lock, with hashes
    assert "BASE_IMAGE=python:3.11-slim@sha256:" in DOCKERFILE  # how to pin the base, said
