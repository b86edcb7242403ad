"""`python -m intake seed`: a Rails-shaped index only where there is none; an existing one is
used as it is; a database from before the Rails index is refused naming `make clean-data`."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from intake.__main__ import main
from intake.security import verify_htpasswd
from intake.seed import seed
from showcase_common.index import create_rails_index, is_rails_index, table_names

from tests.unit.intake.helpers import make_legacy_index, schema_of


def _rows(path: Path, sql: str) -> list[sqlite3.Row]:
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(sql).fetchall()
    conn.close()
    return rows


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def index_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "index" / "index.sqlite3"
    monkeypatch.setenv("INDEX_DB_PATH", str(path))
    monkeypatch.setenv("SHOWCASES_YML_PATH", str(tmp_path / "index" / "showcases.yml"))
    monkeypatch.setenv("LOG_JSON", "false")
    monkeypatch.setenv("SHOWCASE_DEV_MODE", "1")  # the local run's secrets
    return path


def test_seed_creates_a_rails_index_with_htpasswd_users(index_path: Path) -> None:
    assert main(["seed"]) == 0

    with sqlite3.connect(index_path) as conn:
        assert is_rails_index(table_names(conn))
    conn.close()
    users = {row["userid"]: row for row in _rows(index_path, "SELECT * FROM users")}
    assert users["admin"]["password"].startswith("admin:$apr1$")
    assert verify_htpasswd(users["admin"]["password"], "admin", "admin")
    assert verify_htpasswd(users["studio"]["password"], "studio", "studio")
    assert "index" in users["admin"]["sites"].split(",")
    assert "index" not in users["studio"]["sites"].split(",")

    locations = _rows(index_path, "SELECT * FROM locations")
    assert len(locations) >= 3
    assert all(loc["latitude"] is not None and loc["longitude"] is not None for loc in locations)
    assert all(loc["region"] and loc["locale"] == "en_US" for loc in locations)
    owned = [loc["key"] for loc in locations if loc["user_id"] == users["studio"]["id"]]
    assert owned == ["boston"]
    assert users["studio"]["sites"] == "Boston Dance Studio"

    regions = {r["code"]: r for r in _rows(index_path, "SELECT * FROM regions WHERE type = 'fly'")}
    assert {"iad", "ord", "sjc"} <= regions.keys()
    assert all(r["latitude"] is not None and r["longitude"] is not None for r in regions.values())
    assert _rows(index_path, "SELECT count(*) AS n FROM showcases")[0]["n"] == 0
    assert index_path.with_name("showcases.yml").exists()


def test_seeding_again_changes_nothing(index_path: Path) -> None:
    assert main(["seed"]) == 0
    users = [tuple(row) for row in _rows(index_path, "SELECT * FROM users")]
    schema = schema_of(index_path)

    assert main(["seed"]) == 0

    assert [tuple(row) for row in _rows(index_path, "SELECT * FROM users")] == users
    assert schema_of(index_path) == schema


def test_an_existing_index_is_used_as_it_is(index_path: Path) -> None:
    index_path.parent.mkdir(parents=True)
    with sqlite3.connect(index_path) as conn:
        create_rails_index(conn)
        conn.execute(
            "INSERT INTO users (userid, password, sites, created_at, updated_at)"
            " VALUES ('rails', NULL, 'index', '2020-01-01 00:00:00.000000',"
            " '2020-01-01 00:00:00.000000')"
        )
    conn.close()
    before = _digest(index_path)

    assert seed(index_path) is False
    assert _digest(index_path) == before  # not a byte changed
    assert main(["seed"]) == 0  # and the command adds only the pipeline's own tables
    assert [row["userid"] for row in _rows(index_path, "SELECT userid FROM users")] == ["rails"]
    assert _rows(index_path, "SELECT count(*) AS n FROM locations")[0]["n"] == 0


def test_seed_and_serve_refuse_a_database_from_before_the_rails_index(
    index_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index_path.parent.mkdir(parents=True)
    make_legacy_index(index_path)
    before = schema_of(index_path)

    assert main(["seed"]) == 1
    assert "make clean-data" in capsys.readouterr().err
    assert main([]) == 1  # serving: refused before it listens
    assert "make clean-data" in capsys.readouterr().err
    assert schema_of(index_path) == before  # nothing created, nothing dropped


def test_serving_without_an_index_says_how_to_get_one(
    index_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([]) == 1
    err = capsys.readouterr().err
    assert "python -m intake seed" in err and "INDEX_DB_PATH" in err


@pytest.fixture
def production(index_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Outside the local run: no SHOWCASE_DEV_MODE, every secret set."""
    monkeypatch.delenv("SHOWCASE_DEV_MODE")
    monkeypatch.setenv("PROGRESS_TOKEN_SECRET", "p" * 40)
    monkeypatch.setenv("INTAKE_SESSION_SECRET", "s" * 40)
    return index_path


def test_outside_the_local_run_seed_invents_no_login_and_says_where_the_index_is(
    production: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["seed"]) == 1

    assert not production.exists()  # not even an empty file
    err = capsys.readouterr().err
    assert "db/index.sqlite3" in err and "S3" in err and "Rails machine" in err
    assert "SHOWCASE_DEV_MODE=1" in err


def test_outside_the_local_run_seed_refuses_an_empty_file_too(
    production: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    production.parent.mkdir(parents=True)
    production.touch()

    assert main(["seed"]) == 1
    assert production.read_bytes() == b""  # nothing created in it
    assert "db/index.sqlite3" in capsys.readouterr().err


def test_outside_the_local_run_seed_accepts_the_real_index_as_it_is(production: Path) -> None:
    production.parent.mkdir(parents=True)
    with sqlite3.connect(production) as conn:
        create_rails_index(conn)
    conn.close()

    assert main(["seed"]) == 0
    assert _rows(production, "SELECT count(*) AS n FROM users")[0]["n"] == 0


def test_outside_the_local_run_serving_without_an_index_makes_no_file(
    production: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([]) == 1
    assert not production.exists()
    assert "db/index.sqlite3" in capsys.readouterr().err


def test_help_says_seeding_is_for_the_local_run_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "SHOWCASE_DEV_MODE=1" in capsys.readouterr().out


def test_check_refuses_a_missing_index_and_accepts_the_real_one(
    production: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check"]) == 1
    assert not production.exists()
    assert "db/index.sqlite3" in capsys.readouterr().err
    production.parent.mkdir(parents=True)
    with sqlite3.connect(production) as conn:
        create_rails_index(conn)
    conn.close()
    assert main(["check"]) == 0
    assert "pipeline_schema" in schema_of(production)  # the pipeline's tables, created
