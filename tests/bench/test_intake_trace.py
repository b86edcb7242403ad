"""`bench/intake_load.py --trace`: intake's own events, lined up with the bench's answers.

A real intake under bench/intake_probes.py at `--tiny` size: the trace holds intake's writer
batches and showcases.yml renders during the burst, and every POST of the burst is found in it
by its X-Request-ID, its latency split into the client's, the way there, intake's and the way
back. No figure is judged (no timed assertion): only that the parts are there and add up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("in the client", "to intake", "in intake", "back to the client")


@pytest.mark.timeout(300)
def test_a_traced_burst_names_intakes_events_and_splits_each_answer(tmp_path: Path) -> None:
    env = os.environ | {"BENCH_RESULTS_DIR": str(tmp_path)}
    finished = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "intake_load.py"), "--tiny", "--trace"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    result = json.loads((tmp_path / "intake_load.json").read_text())
    trace = result["trace"]
    assert Path(trace["raw"]).exists()
    # every POST went through the group commit, and changed showcases.yml
    assert trace["events_ms"]["batch"]["count"] >= 1
    assert trace["events_ms"]["showcases_yml"]["count"] >= 1
    assert trace["batch_size_mean_max"][1] >= 1  # the largest batch
    slowest = trace["slowest_answers"]["slowest"]
    assert len(slowest) == min(10, result["accepted"])
    for answer in slowest:
        assert answer["request"].startswith("bench-")
        assert set(PARTS) <= answer.keys()
        assert all(answer[part] >= 0 for part in ("in the client", "in intake"))
        # the four parts are the answer's latency (rounded to 0.1 ms each)
        assert abs(sum(answer[part] for part in PARTS) - answer["ms"]) < 0.5
