import json

import pytest
from showcase_common import events, subjects
from showcase_common.bus import Backoff


def _ref() -> events.RequestRef:
    showcase = events.ShowcaseRef(
        showcase_id=7, year=2026, location_key="boston", key="spring-gala", name="Spring Gala"
    )
    return events.RequestRef(
        request_id="r1", user="studio", showcase=showcase, redirect_url="http://x/"
    )


def test_every_event_type_round_trips_through_its_subject() -> None:
    created = events.ShowcaseCreated(request=_ref())
    decoded = events.decode(subjects.SHOWCASE_CREATED, events.encode(created))
    assert decoded == created


def test_the_showcase_path_is_the_agents_page() -> None:
    assert _ref().showcase.path == "/showcase/2026/boston/spring-gala/"


def test_a_lone_showcase_carries_its_page_and_older_events_still_decode() -> None:
    lone = events.ShowcaseRef(
        showcase_id=8, year=2026, location_key="raleigh", key="showcase", name="R",
        page="/showcase/2026/raleigh/",
    )  # fmt: skip
    assert lone.path == "/showcase/2026/raleigh/"
    before = events.encode(events.ShowcaseCreated(request=_ref()))
    assert b'"page"' in before  # None, written out; an event written before the field lacks it:
    old = json.loads(before)
    del old["request"]["showcase"]["page"]
    decoded = events.decode(subjects.SHOWCASE_CREATED, json.dumps(old).encode())
    assert isinstance(decoded, events.ShowcaseCreated)
    assert decoded.request.showcase.path == "/showcase/2026/boston/spring-gala/"


@pytest.mark.parametrize(
    ("subject", "payload", "reason"),
    [
        ("showcase.nope", b"{}", "no event type"),
        (subjects.SHOWCASE_CREATED, b"{broken", "invalid ShowcaseCreated"),
        (subjects.SHOWCASE_CREATED, b'{"request": {"request_id": 1}}', "invalid ShowcaseCreated"),
    ],
)
def test_undecodable_payloads_are_reported(subject: str, payload: bytes, reason: str) -> None:
    with pytest.raises(events.UndecodableEvent, match=reason):
        events.decode(subject, payload)


def test_unknown_fields_are_refused_so_a_typo_is_not_silently_dropped() -> None:
    data = events.ShowcaseCreated(request=_ref()).model_dump(mode="json") | {"surprise": 1}
    with pytest.raises(events.UndecodableEvent):
        events.decode(subjects.SHOWCASE_CREATED, json.dumps(data).encode())


def test_each_subject_has_exactly_one_event_type() -> None:
    published = [t.subject for t in events.EVENT_TYPES]
    assert len(published) == len(set(published))
    assert all(s.startswith(subjects.SUBJECT_PREFIX + ".") for s in published)


def test_backoff_grows_exponentially_and_is_capped() -> None:
    backoff = Backoff(base_s=1, cap_s=10)
    assert [backoff.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def _updated(**changes: object) -> bytes:
    event = events.MachineUpdated(
        generation=3,
        requests=[_ref()],
        machine_id="m1",
        region="iad",
        done=1,
        total=3,
        duration_s=0.5,
    )
    return json.dumps(event.model_dump(mode="json") | changes).encode()


@pytest.mark.parametrize(
    "changes",
    [
        {"duration_s": 1e300},
        {"duration_s": -1.0},
        {"done": -1},
        {"total": 10**9},
        {"generation": 10**15},
        {"generation": -4},
        {"requests": [_ref().model_dump(mode="json") | {"request_id": "r1."}]},
        {"requests": [_ref().model_dump(mode="json") | {"request_id": "a b"}]},
        {"requests": [_ref().model_dump(mode="json") | {"request_id": ""}]},
        {"requests": [_ref().model_dump(mode="json") | {"request_id": "x" * 65}]},
    ],
)
def test_out_of_range_fields_and_unsafe_request_ids_are_undecodable(changes: dict) -> None:
    """Undecodable is permanent: the loop dead-letters such a message at once, never retries it."""
    events.decode(subjects.MACHINE_UPDATED, _updated())  # the unchanged event is fine (no error)
    with pytest.raises(events.UndecodableEvent):
        events.decode(subjects.MACHINE_UPDATED, _updated(**changes))


def test_intakes_request_ids_are_valid() -> None:
    ref = _ref().model_copy(update={"request_id": events.new_id()})
    events.RequestRef.model_validate(ref.model_dump())
