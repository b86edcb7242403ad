"""The Rails job's steps before a snapshot (maps, date sync, clean-up) as real commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from showcase_common import events

from tests.unit.syncer.conftest import make_world
from tests.unit.syncer.helpers import created


def step(code: str, name: str, *, optional: bool = False) -> dict[str, object]:
    return {"run": [sys.executable, "-c", code], "name": name, "optional": optional}


RECORD = (
    "import json, os, pathlib; pathlib.Path('ran.jsonl').open('a').write(json.dumps("
    "{'step': %r, 'cwd': os.getcwd(), 'db': os.environ.get('RAILS_DB_VOLUME'), "
    "'secret': os.environ.get('AWS_SECRET_ACCESS_KEY')}) + '\\n')"
)


async def test_each_step_runs_in_the_rails_app_before_the_snapshot_and_is_announced(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "the-syncers-own-s3-secret")
    rails = tmp_path / "rails"
    rails.mkdir()
    steps = [step(RECORD % "maps", "maps"), step(RECORD % "dates", "dates")]
    world = make_world(
        tmp_path,
        syncer_pre_snapshot_commands=steps,
        syncer_rails_root=rails,
        index_db_path=tmp_path / "db" / "index.sqlite3",
    )
    await world.syncer.handler.handle_batch([created(1)])

    ran = [json.loads(line) for line in (rails / "ran.jsonl").read_text().splitlines()]
    assert [r["step"] for r in ran] == ["maps", "dates"]
    assert {r["cwd"] for r in ran} == {str(rails)}
    assert {r["db"] for r in ran} == {str(tmp_path / "db")}  # RAILS_DB_VOLUME: the index's dir
    assert {r["secret"] for r in ran} == {None}  # the syncer's secrets never pass
    preparing = world.publisher.of(events.IndexPreparing)
    assert [(p.step, p.steps, p.name) for p in preparing] == [(1, 2, "maps"), (2, 2, "dates")]
    assert world.store.uploads == [1] and world.publisher.of(events.IndexSynced)


async def test_a_required_step_failing_stops_the_job_naming_it(tmp_path: Path) -> None:
    steps = [step("import sys; print('no node'); sys.exit(3)", "maps"), step("pass", "dates")]
    world = make_world(tmp_path, syncer_pre_snapshot_commands=steps)
    await world.syncer.handler.handle_batch([created(1)])

    assert world.store.uploads == []  # no snapshot
    [failed] = world.publisher.of(events.IndexSyncFailed)
    assert failed.reason == "command_failed"
    assert "maps (1 of 2)" in failed.error and "exited with status 3" in failed.error
    assert [p.name for p in world.publisher.of(events.IndexPreparing)] == ["maps"]


async def test_an_optional_step_failing_is_logged_and_the_job_goes_on(tmp_path: Path) -> None:
    steps = [step("import sys; sys.exit(1)", "dates", optional=True), step("pass", "clean-up")]
    world = make_world(tmp_path, syncer_pre_snapshot_commands=steps)
    await world.syncer.handler.handle_batch([created(1)])
    assert world.store.uploads == [1] and not world.publisher.of(events.IndexSyncFailed)
    assert len(world.publisher.of(events.IndexPreparing)) == 2


async def test_without_steps_nothing_runs_and_nothing_is_announced(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    await world.syncer.handler.handle_batch([created(1)])
    assert not world.publisher.of(events.IndexPreparing) and world.store.uploads == [1]
