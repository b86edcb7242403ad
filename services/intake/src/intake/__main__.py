"""`python -m intake` serves (the one runner, given intake's settings, ports and build);
`python -m intake seed` creates the local run's index when there is none. Both first prepare the
index and refuse, with a message saying what to do, a file that is not a Rails index."""

from __future__ import annotations

import sys

from showcase_common.logs import configure_logging
from showcase_common.runner import run

from intake.bootstrap import build, ports
from intake.config import IntakeSettings
from intake.db import Database, NotAnIndex, SchemaTooNew, create_schema, make_engine
from intake.seed import seed
from intake.showcases_file import ShowcasesFile


def prepare_index(settings: IntakeSettings, *, seeding: bool) -> None:
    """Seed (when asked and there is no index), then create or migrate the pipeline's own
    tables. Raises `NotAnIndex` or `SchemaTooNew`, whose messages say what to do."""
    if seeding:
        seed(settings.index_db_path)
    db = Database(make_engine(settings.index_db_path))
    try:
        create_schema(db.engine)
        if seeding:  # the index host's showcases.yml, for an index intake has not served yet
            with db.session() as session:
                ShowcasesFile(settings.showcases_yml_path).write(session)
    finally:
        db.engine.dispose()


def main(argv: list[str]) -> int:
    if argv not in ([], ["seed"]):
        print("usage: python -m intake [seed]", file=sys.stderr)
        return 2
    settings = IntakeSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    try:
        prepare_index(settings, seeding=argv == ["seed"])
    except (NotAnIndex, SchemaTooNew) as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return 1
    if not argv:
        run(lambda: settings, ports, build)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
