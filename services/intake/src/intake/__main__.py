"""`python -m intake` serves (the one runner, given intake's settings, ports and build);
`python -m intake seed` creates the local run's index when there is none (only with
SHOWCASE_DEV_MODE=1: elsewhere it checks that the real index is there, as `python -m intake
check` does, which the deployments run before they start the services). All first prepare the
index and refuse, with a message saying what to do and a non-zero exit, a missing index or a file
that is not a Rails index."""

from __future__ import annotations

import sys

from showcase_common.logs import configure_logging
from showcase_common.runner import run

from intake.bootstrap import build, ports
from intake.config import IntakeSettings
from intake.db import Database, NotAnIndex, SchemaTooNew, create_schema, make_engine
from intake.seed import require_index, seed
from intake.showcases_file import ShowcasesFile


def prepare_index(settings: IntakeSettings, *, seeding: bool) -> None:
    """Seed (when asked and there is no index), then create or migrate the pipeline's own
    tables. Raises `NotAnIndex` or `SchemaTooNew`, whose messages say what to do."""
    if seeding and settings.showcase_dev_mode:
        seed(settings.index_db_path)
    elif seeding or not settings.index_db_path.exists():
        # outside the local run nothing invents logins; and SQLite would make an empty file
        require_index(settings.index_db_path)
    db = Database(make_engine(settings.index_db_path))
    try:
        create_schema(db.engine)
        if seeding:  # the index host's showcases.yml, for an index intake has not served yet
            with db.session() as session:
                ShowcasesFile(settings.showcases_yml_path).write(session)
    finally:
        db.engine.dispose()


USAGE = """usage: python -m intake [check | seed]

  python -m intake        serve the form and API on INTAKE_PORT, over the index at INDEX_DB_PATH
                          (which must be the Rails application's index: copy it from S3's
                          db/index.sqlite3 or from the Rails machine's /data/db/index.sqlite3)
  python -m intake check  check that index (exit 1 saying how to get it if it is missing),
                          create or migrate the pipeline's own tables in it, and exit
  python -m intake seed   only with SHOWCASE_DEV_MODE=1 (the local run): create an index with
                          made-up logins (admin/admin, studio/studio) when there is none;
                          elsewhere it only checks that the index is there (exit 1 if not)"""


def main(argv: list[str]) -> int:
    if argv in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    if argv not in ([], ["seed"], ["check"]):
        print(USAGE, file=sys.stderr)
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
