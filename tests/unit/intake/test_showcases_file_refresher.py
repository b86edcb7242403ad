"""The showcases.yml writer coalesces: a burst of changes costs one rewrite, and rewrites start
at most every `min_interval_s` (on a clock and a sleep the test controls)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from intake.route_deps import RouteDeps
from intake.showcases_file import ShowcasesFile, ShowcasesFileRefresher
from sqlmodel import Session

from tests.support.waiting import eventually


class CountingFile(ShowcasesFile):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.passes = 0

    def write(self, session: Session) -> bool:
        written = super().write(session)
        self.passes += 1  # counted once the pass is done
        return written


class HeldSleep:
    """A sleep that returns only when the test releases it; remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self.release = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await self.release.wait()
        self.release.clear()


async def test_changes_during_the_pause_wait_for_one_more_pass(
    deps: RouteDeps, tmp_path: Path
) -> None:
    file = CountingFile(tmp_path / "showcases.yml")
    sleep = HeldSleep()
    refresher = ShowcasesFileRefresher(
        deps.db, file, min_interval_s=1.0, clock=lambda: 50.0, sleep=sleep
    )
    stop = asyncio.Event()
    task = asyncio.create_task(refresher.run(stop))
    await eventually(lambda: file.passes == 1, 10, "the pass at start")
    assert file.path.exists()

    for _ in range(3):
        refresher.changed()
    await eventually(lambda: file.passes == 2 and sleep.asked == [1.0], 10, "one pass, a pause")
    for _ in range(5):
        refresher.changed()  # during the pause
    for _ in range(20):
        await asyncio.sleep(0)
    assert file.passes == 2

    sleep.release.set()
    await eventually(lambda: file.passes == 3 and len(sleep.asked) == 2, 10, "the next pass")
    stop.set()  # stopping cuts the pause short
    await asyncio.wait_for(task, 10)
    assert file.passes == 3


async def test_a_change_made_during_the_last_pause_is_written_on_stop(
    deps: RouteDeps, tmp_path: Path
) -> None:
    file = CountingFile(tmp_path / "showcases.yml")
    sleep = HeldSleep()
    refresher = ShowcasesFileRefresher(
        deps.db, file, min_interval_s=1.0, clock=lambda: 50.0, sleep=sleep
    )
    stop = asyncio.Event()
    task = asyncio.create_task(refresher.run(stop))
    await eventually(lambda: file.passes == 1, 10, "the pass at start")
    refresher.changed()
    await eventually(lambda: sleep.asked == [1.0], 10, "the pause")
    refresher.changed()
    stop.set()
    await asyncio.wait_for(task, 10)
    assert file.passes == 3


def test_an_unchanged_render_rewrites_nothing(deps: RouteDeps, tmp_path: Path) -> None:
    file = ShowcasesFile(tmp_path / "showcases.yml")
    with deps.db.session() as session:
        assert file.write(session)
        assert not file.write(session)
    again = ShowcasesFile(file.path)  # a new process: compares with what is on disk once
    with deps.db.session() as session:
        assert not again.write(session)
