"""The derived files, byte for byte."""

from __future__ import annotations

from machine_agent.index_data import IndexData
from machine_agent.regenerate import htpasswd, showcases_yml, tenants_list
from showcase_common.index import showcases_yaml
from showcase_common.index.models import Showcase, User

from tests.support.agents import sample_rows

UNUSUAL = Showcase(
    id=20,
    location_id=2,
    year=2027,
    key="noel",
    order=5,
    name="Café Noël — « Ünïcode » Showcase: a name long enough to tempt a YAML emitter to fold "
    "it over several lines, with 'quotes', \"doubles\", #hashes and a: colon",
    date="2027-12-24",
)


def _index(*extra: Showcase, users: list[User] | None = None) -> IndexData:
    locations, showcases, sample_users = sample_rows(extra)
    return IndexData(locations, showcases, users if users is not None else sample_users)


def test_showcases_yml_is_byte_for_byte_the_shared_render() -> None:
    index = _index(UNUSUAL)
    assert showcases_yml(index) == showcases_yaml.render(index.locations, index.showcases)


def test_tenants_list_keeps_one_line_per_showcase() -> None:
    tricky = UNUSUAL.model_copy(update={"name": "Two\tlines\nhere"})
    lines = tenants_list(_index(tricky)).splitlines()
    assert len(lines) == 5
    assert "2027/chicago/noel\tord\tTwo lines here" in lines


def test_htpasswd_is_the_sorted_non_null_password_lines() -> None:
    users = [
        User(id=1, userid="zoe", password="zoe:$apr1$a$b"),
        User(id=2, userid="nobody", password=None),
        User(id=3, userid="al", password="al:{SHA}xyz="),
    ]
    assert htpasswd(_index(users=users)) == "al:{SHA}xyz=\nzoe:$apr1$a$b"
