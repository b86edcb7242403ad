"""What `python -m intake` asks of the runner before it serves."""

from __future__ import annotations

from intake.bootstrap import build
from intake.config import IntakeSettings

from tests.support.ports import FakeIntakePorts


def test_intake_freezes_its_start_up_heap_before_serving(settings: IntakeSettings) -> None:
    """A full garbage collection walking the start-up heap stalled every request for
    110–160 ms under 16 clients (docs/performance.md): the process freezes that heap first
    (`showcase_common.runner.freeze_start_up_heap`, covered in tests/unit/common/test_runner)."""
    assert build(settings, FakeIntakePorts()).freeze_start_up_heap
