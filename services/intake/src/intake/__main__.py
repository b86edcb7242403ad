"""`python -m intake` serves; `python -m intake seed` seeds the local run's users and locations."""

from __future__ import annotations

import sys

import uvicorn
from showcase_common.logs import configure_logging
from showcase_common.serving import server_config

from intake.bootstrap import create_app
from intake.config import IntakeSettings
from intake.db import Database, create_schema, make_engine
from intake.seed import seed
from intake.showcases_file import ShowcasesFile


def main(argv: list[str]) -> int:
    settings = IntakeSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    if argv[:1] == ["seed"]:
        db = Database(make_engine(settings.index_db_path))
        create_schema(db.engine)
        seed(db)
        with db.session() as session:
            ShowcasesFile(settings.showcases_yml_path).write(session)
        return 0
    if argv:
        print("usage: python -m intake [seed]", file=sys.stderr)
        return 2
    app = create_app(settings)
    config = server_config(
        app,
        host=settings.intake_host,
        port=settings.intake_port,
        limits=settings.http_limits,
        proxy_headers=True,
    )
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
