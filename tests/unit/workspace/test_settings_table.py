"""README.md's configuration table is what the settings classes say (`devstack.settings_table`):

- the section between its markers is the generated table, byte for byte;
- every service's settings class (the one its `bootstrap.ports` takes) is in it, and every
  variable any of them reads has a description (its field's docstring);
- one row per variable, however many read it;
- the local run's own variables are exactly those `StackConfig.from_env` reads;
- an older name the table shows still works.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from devstack import settings_table
from devstack.config import LOCAL_RUN_VARIABLES, StackConfig
from machine_updater.config import UpdaterSettings
from showcase_common.docs import replace_section, rows, section

from tests.unit.workspace.test_composition_roots import IDS, Root, _settings_type, roots

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_readme_table_is_current() -> None:
    assert section(README.read_text(), settings_table.SECTION) == settings_table.table(), (
        "README.md's configuration table is out of date: run `make docs`"
    )


@pytest.mark.parametrize("root", roots(), ids=IDS)
def test_every_services_settings_class_is_in_the_table(root: Root) -> None:
    classes = {cls.__name__ for cls in settings_table.SERVICES.values()}
    classes |= {"AlerterSettings"}  # showcasectl's reader
    assert _settings_type(root).__name__ in classes


def test_every_setting_says_what_it_is() -> None:
    undocumented = [
        f"{reader.name}: {setting.name}"
        for reader in settings_table.readers()
        for setting in reader.settings
        if not setting.description.strip()
    ]
    assert undocumented == [], "give these fields a docstring in their settings class"


def test_one_row_per_variable_naming_everyone_who_reads_it() -> None:
    table = rows(settings_table.readers())
    names = [row.name for row in table]
    assert len(names) == len(set(names))
    by_name = {row.name: row for row in table}
    assert by_name["INDEX_DB_PATH"].readers == ("intake", "syncer")
    assert by_name["PROGRESS_TOKEN_SECRET"].readers == ("intake", "progress-gateway")
    assert by_name["MACHINE_UPDATE_SECRET"].readers == ("machine-updater", "machine-agent")
    assert by_name["PUBLIC_FLEET_URL"].readers == ("intake", "progress-gateway")
    lines = section(README.read_text(), "settings").splitlines()[2:]  # after the header
    shown = [line.split(" | ")[0] for line in lines]
    assert len(shown) == len(set(shown))


class _Recording(Mapping[str, str]):
    """An empty environment that remembers every name it was asked for."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        raise KeyError(key)

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]  # Mapping.get's overloads, one signature here
        self.asked.add(key)
        return default

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def test_the_local_runs_variables_are_those_it_reads() -> None:
    environ = _Recording()
    StackConfig.from_env(environ)
    assert environ.asked == set(LOCAL_RUN_VARIABLES)


def test_an_older_name_in_the_table_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    [row] = [r for r in rows(settings_table.readers()) if r.name == "UPDATER_ACK_WAIT_S"]
    assert row.older == ("ACK_WAIT_S",)
    monkeypatch.setenv("ACK_WAIT_S", "7")
    monkeypatch.setenv("SHOWCASE_DEV_MODE", "1")
    assert UpdaterSettings(_env_file=None).consumer.ack_wait_s == 7


def test_a_changed_table_is_caught() -> None:
    """The currency check can fail: a README whose table differs is not the generated one."""
    text = README.read_text()
    stale = replace_section(text, "settings", settings_table.table().replace("`8000`", "`8080`"))
    assert section(stale, "settings") != settings_table.table()
    assert replace_section(stale, "settings", settings_table.table()) == text
