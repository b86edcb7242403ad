"""The derived files, byte for byte: showcases.yml (served regions) and htpasswd (golden)."""

from __future__ import annotations

from pathlib import Path

from machine_agent.index_data import IndexData
from machine_agent.regenerate import htpasswd, regenerate, showcases_yml
from showcase_common.index import showcases_yaml
from showcase_common.index.models import User
from showcase_common.index.regions import ServedRegion

from tests.support.agents import sample_rows
from tests.support.rails_fixture import KNOWN_LOGINS, fixture_regions

GOLDEN = Path(__file__).parent / "golden"


def _index(users: list[User] | None = None) -> IndexData:
    locations, showcases, sample_users = sample_rows()
    return IndexData(
        locations, showcases, sample_users if users is None else users, fixture_regions()
    )


def _regions_of(text: str) -> list[str]:
    return [line.split(":region:")[1].strip() for line in text.splitlines() if ":region:" in line]


def test_by_default_the_served_regions_are_the_fly_rows_in_code_order() -> None:
    index = _index()
    fly = sorted((r for r in index.regions if r.type == "fly"), key=lambda r: r.code or "")
    served = [ServedRegion(r.code or "", r.latitude, r.longitude) for r in fly]

    text = showcases_yml(index)

    assert text == showcases_yaml.render(index.locations, index.showcases, served)
    assert _regions_of(text) == ["iad", "ord", "sjc"]  # 2026 boston, chicago; 2025 seattle


def test_the_served_regions_setting_picks_among_its_own_codes() -> None:
    text = showcases_yml(_index(), ["sjc", "iad"])

    # chicago's ord is not served: iad is nearer to it than sjc
    assert _regions_of(text) == ["iad", "iad", "sjc"]


def test_a_served_region_without_coordinates_is_never_the_nearest() -> None:
    text = showcases_yml(_index(), ["xyz"])  # not in the regions table

    assert _regions_of(text) == ["", "", ""]  # nil: `:region:` with nothing after


def test_htpasswd_is_the_sorted_non_null_lines_without_a_final_newline() -> None:
    lines = {userid: line for userid, (_, line) in KNOWN_LOGINS.items()}
    users = [
        User(id=1, userid="studio", password=lines["studio"]),
        User(id=2, userid="rasmus", password=lines["rasmus"]),
        User(id=3, userid="ghost", password=None),
        User(id=4, userid="carol", password=lines["carol"]),
        User(id=5, userid="admin", password=lines["admin"]),
    ]

    assert htpasswd(_index(users)).encode() == (GOLDEN / "htpasswd").read_bytes()


def test_htpasswd_leaves_out_a_value_that_would_forge_another_line() -> None:
    users = [
        User(id=1, userid="ok", password="ok:{SHA}x"),
        User(id=2, userid="nl", password="nl:h\nroot:x"),
        User(id=3, userid="cr", password="cr:h\rroot:x"),
    ]
    assert htpasswd(_index(users)) == "ok:{SHA}x"


def test_htpasswd_takes_no_line_for_a_user_other_than_the_rows() -> None:
    """A row of `mallory` whose password line says `admin:…` must not add an admin login."""
    users = [
        User(id=1, userid="ok", password="ok:{SHA}x"),
        User(id=2, userid="mallory", password="admin:{SHA}forged"),
        User(id=3, userid="nocolon", password="{SHA}bare"),
        User(id=4, userid=None, password="ghost:{SHA}y"),
    ]
    assert htpasswd(_index(users)) == "ok:{SHA}x"


def test_htpasswd_of_no_logins_is_empty() -> None:
    assert htpasswd(_index([User(id=1, userid="ghost", password=None)])) == ""


def test_files_are_rewritten_only_when_their_bytes_change(tmp_path: Path) -> None:
    index = _index()
    assert sorted(regenerate(index, tmp_path)) == ["htpasswd", "showcases.yml"]
    assert regenerate(index, tmp_path) == []
    assert regenerate(index, tmp_path, ["iad"]) == ["showcases.yml"]
