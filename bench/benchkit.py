"""What every bench/*.py shares: the `--tiny` option and where the result file goes.

`--tiny` runs the benchmark at the smallest size that still exercises every part of it (the
suite runs each one so, in tests/bench/test_benchmarks_run.py, so that none of them rots);
its figures mean nothing. BENCH_RESULTS_DIR moves the result files (the test writes them into
a temporary directory, not over the real figures in bench/results/).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

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
