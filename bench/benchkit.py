"""What every bench/*.py shares: the `--tiny` option, where the result file goes, and the real
servers a benchmark starts for itself (`s3_bucket`, `nats_server`).

`--tiny` runs the benchmark at the smallest size that still exercises every part of it (the
suite runs each one so, in tests/bench/test_benchmarks_run.py, so that none of them rots);
its figures mean nothing. BENCH_RESULTS_DIR moves the result files (the test writes them into
a temporary directory, not over the real figures in bench/results/).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from devstack.servers import NatsServer, WeedS3
from showcase_common.settings import S3Settings
from showcase_common.snapshots import S3SnapshotStore

ROOT = Path(__file__).resolve().parents[1]


def parser(doc: str | None) -> argparse.ArgumentParser:
    """The benchmark's argument parser, with `--tiny`; its docstring's first line as description."""
    parsed = argparse.ArgumentParser(
        description=(doc or "").strip().splitlines()[0] if doc else None,
        epilog="BENCH_RESULTS_DIR=DIR writes the result file there instead of bench/results/.",
    )
    parsed.add_argument(
        "--tiny",
        action="store_true",
        help="the smallest run that exercises everything (a smoke test: its figures mean nothing)",
    )
    return parsed


def results_file(name: str) -> Path:
    """bench/results/NAME, or BENCH_RESULTS_DIR/NAME; its directory made."""
    folder = Path(os.environ.get("BENCH_RESULTS_DIR") or ROOT / "bench" / "results")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


@contextlib.contextmanager
def s3_bucket(work: Path) -> Iterator[S3Settings]:
    """A fresh, empty bucket on a real S3 endpoint: `S3_ENDPOINT_URL` (with `AWS_ACCESS_KEY_ID`
    and `AWS_SECRET_ACCESS_KEY`) when set, else a `weed mini` started in `work/s3` and stopped
    on the way out."""
    endpoint = os.environ.get("S3_ENDPOINT_URL")
    with contextlib.ExitStack() as stack:
        if not endpoint:
            server = WeedS3(work / "s3")
            endpoint = server.start()
            stack.callback(server.stop)
        settings = S3Settings(
            s3_endpoint_url=endpoint,
            s3_bucket=f"bench-{uuid.uuid4().hex[:8]}",
            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "bench"),
            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "bench"),
        )
        S3SnapshotStore.from_settings(settings).ensure_bucket()
        yield settings


@contextlib.contextmanager
def nats_server(work: Path) -> Iterator[str]:
    """A real nats-server: `NATS_URL` when set, else one started in `work/nats` (and stopped)."""
    external = os.environ.get("NATS_URL")
    if external:
        yield external
        return
    server = NatsServer(work / "nats")
    try:
        yield server.start()
    finally:
        server.stop()
