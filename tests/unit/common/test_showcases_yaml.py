"""showcases.yml: one golden file per rule (byte for byte), and Psych's quoting decisions."""

from __future__ import annotations

import pytest
import yaml
from showcase_common.index.psych import RubySymbol, dump, reads_back_as_string
from showcase_common.index.regions import ServedRegion
from showcase_common.index.showcases_yaml import build, render

from tests.unit.common.showcases_yaml_cases import CASES, GOLDEN, location, show


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_rule_gives_its_golden_bytes(name: str) -> None:
    case = CASES[name]

    text = render(case.locations, case.showcases, case.served)

    assert text.encode() == (GOLDEN / f"{name}.yml").read_bytes()


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_input_order_of_rows_does_not_matter(name: str) -> None:
    case = CASES[name]
    reversed_rows = render(case.locations[::-1], case.showcases[::-1], case.served)
    assert reversed_rows == render(case.locations, case.showcases, case.served)


def test_a_tie_goes_to_the_first_served_region_whichever_it_is() -> None:
    case = CASES["region_tie_first"]
    east_first = tuple(reversed(case.served))

    document = build(case.locations, case.showcases, east_first)

    assert document[2026]["middle"][RubySymbol("region")] == "east"


def test_a_region_is_served_only_if_it_is_in_the_list_given() -> None:
    locations = [location(1, "chicago", region="ord", latitude=41.9, longitude=-87.6)]
    served = (ServedRegion("iad", 39.0, -77.5),)

    document = build(locations, [show(1, 1, "showcase")], served)

    assert document[2026]["chicago"][RubySymbol("region")] == "iad"


def test_rows_without_a_year_or_a_location_are_left_out() -> None:
    shows = [show(1, 1, "showcase"), show(2, 99, "orphan")]
    shows.append(show(3, 1, "undated").model_copy(update={"year": None}))

    assert list(build([location(1, "boston")], shows, ())) == [2026]


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("2025", "'2025'"),
        ("2025-06-20", "'2025-06-20'"),
        ("2025-02-30", "'2025-02-30'"),  # Psych: plain, which the fleet's safe load refuses
        ("2025-06-20 - 2025-06-21", "2025-06-20 - 2025-06-21"),
        ("11-11-23", "11-11-23"),
        ("yes", "'yes'"),
        ("No", "'No'"),
        ("off", "'off'"),
        ("null", "'null'"),
        ("~", '"~"'),
        ("y", '"y"'),
        ("", "''"),
        ("1,000", "'1,000'"),
        ("09", "'09'"),
        ("3.5", "'3.5'"),
        ("12:30", "'12:30'"),
        (":sym", '":sym"'),
        ("#1 Party", '"#1 Party"'),
        ("@Home", '"@Home"'),
        ("a: b", "'a: b'"),
        ("Bob's", "Bob's"),
        ("Café", "Café"),
    ],
)
def test_strings_are_quoted_as_psych_quotes_them(text: str, written: str) -> None:
    assert dump({"k": text}) == f"---\nk: {written}\n"


def test_reads_back_as_string_follows_psychs_scalar_scanner() -> None:
    for other_type in (
        "true",
        "ON",
        "~",
        "NULL",
        "1_000",
        "0x1F",
        "0b101",
        "-.inf",
        ".NaN",
        "2025-06-20 10:00:00",
        "1:20:30",
        ":x",
        "+1",
        "1.0e+3",
        ".5",
    ):
        assert not reads_back_as_string(other_type), other_type
    for string in ("Spring", "yess", "1e+3", "2025-13-01", "+.", "x:y", "Jun 20", "1.2.3"):
        assert reads_back_as_string(string), string


def test_nil_and_symbols_are_written_as_psych_writes_them() -> None:
    document = {2026: {"k": {RubySymbol("region"): None, RubySymbol("name"): "x"}}}

    assert dump(document) == "---\n2026:\n  k:\n    :region:\n    :name: x\n"


def test_the_pure_python_emitter_gives_the_goldens_too() -> None:
    """Without libyaml the port emits the same bytes (it differs only in line breaks inside
    long double-quoted strings, which no golden holds)."""
    for name, case in CASES.items():
        document = build(case.locations, case.showcases, case.served)
        expected = (GOLDEN / f"{name}.yml").read_bytes()
        assert dump(document, dumper=yaml.Dumper).encode() == expected, name
