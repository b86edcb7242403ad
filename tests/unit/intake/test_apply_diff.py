"""What Apply would change: the index's showcases.yml against deployed-showcases.yml, as the
Rails `admin#apply` page shows it (events added, changed, removed; sites moving region)."""

from __future__ import annotations

from intake.apply_diff import ApplyDiff, Change, Event, Move, diff, load
from showcase_common.index import Location, Region, Showcase, served_regions
from showcase_common.index.showcases_yaml import render

DEPLOYED = """\
---
2027:
  boston:
    :name: Boston
    :region: iad
    :events:
      spring:
        :name: Spring Showcase
        :date: '2027-05-16'
      fall:
        :name: Fall Ball
  chicago:
    :name: Chicago
    :region: ord
    :date: '2027-03-01'
"""


def test_the_same_document_changes_nothing() -> None:
    assert diff(load(DEPLOYED), load(DEPLOYED)) == ApplyDiff()
    assert diff(load(DEPLOYED), load(DEPLOYED)).empty


def test_a_missing_deployed_file_means_every_event_is_added() -> None:
    found = diff(load(DEPLOYED), load(None))
    assert [e.ident for e in found.added] == [
        (2027, "boston", "fall"),
        (2027, "boston", "spring"),
        (2027, "chicago", "showcase"),  # a lone showcase: its location's entry
    ]
    assert (found.changed, found.removed, found.moved) == ((), (), ())
    assert found.counts() == {"added": 3, "changed": 0, "removed": 0, "moved": 0}


def test_added_changed_removed_and_moved_region() -> None:
    index = DEPLOYED.replace("Fall Ball", "Fall Gala").replace(":region: ord", ":region: sjc")
    index = index.replace(
        "      fall:\n",
        "      winter:\n        :name: Winter Warmup\n        :date: '2027-12-04'\n      fall:\n",
    )
    index = index.replace(
        "      spring:\n        :name: Spring Showcase\n        :date: '2027-05-16'\n", ""
    )
    found = diff(load(index), load(DEPLOYED))
    assert found.added == (Event(2027, "boston", "winter", "Winter Warmup", "2027-12-04"),)
    assert found.removed == (Event(2027, "boston", "spring", "Spring Showcase", "2027-05-16"),)
    assert found.changed == (
        Change(
            Event(2027, "boston", "fall", "Fall Ball"), Event(2027, "boston", "fall", "Fall Gala")
        ),
    )
    assert found.changed[0].fields == ["name"]
    assert found.moved == (Move("chicago", "Chicago", "ord", "sjc"),)
    assert not found.empty


def test_a_new_date_is_a_change_of_the_date_only() -> None:
    index = DEPLOYED.replace("'2027-05-16'", "'2027-05-23'")
    (change,) = diff(load(index), load(DEPLOYED)).changed
    assert change.fields == ["date"]
    assert (change.before.date, change.after.date) == ("2027-05-16", "2027-05-23")


def test_a_site_losing_its_region_moves_to_none() -> None:
    index = DEPLOYED.replace(":region: iad", ":region:")
    assert diff(load(index), load(DEPLOYED)).moved == (Move("boston", "Boston", "iad", None),)


def test_a_new_site_is_added_not_moved() -> None:
    index = DEPLOYED + "  denver:\n    :name: Denver\n    :region: den\n"
    found = diff(load(index), load(DEPLOYED))
    assert found.moved == ()
    assert [e.ident for e in found.added] == [(2027, "denver", "showcase")]


def test_the_index_as_intake_renders_it_compares_with_its_own_copy() -> None:
    """The documents come from the same renderer the fleet and the Rails job use."""
    location = Location(id=1, key="boston", name="Boston", region="iad")
    regions = served_regions([Region(id=1, code="iad", type="fly", location="Ashburn")])
    first = Showcase(id=1, location_id=1, year=2027, key="spring", name="Spring", order=1)
    second = Showcase(id=2, location_id=1, year=2027, key="gala", name="Gala", order=2)
    deployed = render([location], [first], regions)
    index = render([location], [first, second], regions)
    found = diff(load(index), load(deployed))
    assert [e.ident for e in found.added] == [(2027, "boston", "gala")]
    # the first, keyed `spring`, is the same event whether lone or one of `:events:`
    assert found.removed == () and found.changed == ()


def test_garbage_is_an_empty_document_not_a_crash() -> None:
    assert load("just text") == {}
    assert load("") == {}
    assert diff(load("- a\n- b\n"), load("{oops: 1}")) == ApplyDiff()
