"""The prerendered pages: served after an update, incremental, escaped, removed when gone."""

from __future__ import annotations

from fastapi.testclient import TestClient
from machine_agent.config import AgentSettings
from showcase_common.index.models import Showcase

from tests.unit.machine_agent.conftest import AUTH, Publish, update


def _new_showcase(name: str = "Summer Sizzle") -> Showcase:
    return Showcase(
        id=10,
        location_id=1,
        year=2026,
        key="summer",
        name=name,
        order=5,
        date="2026-07-04",
    )


def test_pages_are_served_after_the_update(client: TestClient, publish: Publish) -> None:
    assert client.get("/showcase/2026/boston/spring/").status_code == 404
    update(client, publish(1))

    page = client.get("/showcase/2026/boston/spring/")
    studio = client.get("/showcase/studios/seattle/")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Spring Showcase" in page.text and "Boston Ballroom" in page.text
    assert "2026-04-12 - 2026-04-13" in page.text
    assert studio.status_code == 200
    assert client.head("/showcase/2026/boston/spring/").status_code == 200
    assert 'href="/showcase/2025/seattle/winter/"' in studio.text
    assert 'href="/showcase/2025/seattle/fall/"' in studio.text


def test_unknown_or_unsafe_pages_are_404(client: TestClient, publish: Publish) -> None:
    update(client, publish(1))
    for path in (
        "/showcase/2026/boston/nope/",
        "/showcase/twenty/boston/spring/",
        "/showcase/studios/nowhere/",
        "/showcase/2026/boston/.manifest.json/",
        "/showcase/2026/%2E%2E/%2E%2E/",
        "/showcase/studios/..%2F..%2Fstate.json/",
    ):
        assert client.get(path).status_code == 404, path


def test_only_changed_pages_are_rendered_again(
    client: TestClient, publish: Publish, settings: AgentSettings
) -> None:
    first = update(client, publish(1)).json()
    untouched = settings.data_dir / "pages" / "2025" / "seattle" / "fall" / "index.html"
    mtime = untouched.stat().st_mtime_ns

    second = update(client, publish(2, [_new_showcase()])).json()
    same_data = update(client, publish(3, [_new_showcase()])).json()

    assert first["pages_rendered"] == 7
    # the new showcase's page and its studio's list; nothing else
    assert second["pages_rendered"] == 2 and second["pages_total"] == 8
    assert second["files_changed"] == ["showcases.yml"]
    assert same_data["changed"] is True and same_data["pages_rendered"] == 0
    assert same_data["files_changed"] == []
    assert untouched.stat().st_mtime_ns == mtime
    assert "Summer Sizzle" in client.get("/showcase/studios/boston/").text


def test_a_removed_showcase_loses_its_page(client: TestClient, publish: Publish) -> None:
    update(client, publish(1, [_new_showcase()]))
    assert client.get("/showcase/2026/boston/summer/").status_code == 200

    result = update(client, publish(2)).json()

    assert result["pages_removed"] == 1
    assert client.get("/showcase/2026/boston/summer/").status_code == 404
    assert "Summer Sizzle" not in client.get("/showcase/studios/boston/").text


def test_names_are_escaped(client: TestClient, publish: Publish) -> None:
    update(client, publish(1, [_new_showcase("<script>alert(1)</script> & Co")]))

    page = client.get("/showcase/2026/boston/summer/").text

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page


def test_a_lone_showcase_is_at_its_locations_year_url(client: TestClient, publish: Publish) -> None:
    update(client, publish(1))

    page = client.get("/showcase/2026/chicago/")
    studio = client.get("/showcase/studios/chicago/")

    assert page.status_code == 200 and "Chicago Showcase" in page.text
    assert 'href="/showcase/2026/chicago/"' in studio.text
    assert client.get("/showcase/2026/chicago/showcase/").text == page.text  # the old URL too
    assert client.get("/showcase/2026/boston/").status_code == 404  # boston's is not lone


def test_a_second_showcase_moves_the_lone_one_to_its_key_url(
    client: TestClient, publish: Publish
) -> None:
    update(client, publish(1))
    second = _new_showcase().model_copy(update={"location_id": 2, "key": "encore"})

    update(client, publish(2, [second]))

    assert client.get("/showcase/2026/chicago/").status_code == 404
    assert "Chicago Showcase" in client.get("/showcase/2026/chicago/showcase/").text


def test_free_form_dates_are_shown_as_the_index_holds_them(
    client: TestClient, publish: Publish
) -> None:
    update(client, publish(1, [_new_showcase().model_copy(update={"date": "11-11-23"})]))

    assert "11-11-23" in client.get("/showcase/2026/boston/summer/").text
    assert "to be announced" in client.get("/showcase/2025/seattle/fall/").text  # NULL date


def test_pages_cannot_be_framed_and_run_no_script(client: TestClient, publish: Publish) -> None:
    update(client, publish(1))
    for path in ("/showcase/2026/boston/spring/", "/showcase/studios/seattle/", "/readyz"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert "script-src" not in csp  # default-src 'none': no script at all
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_the_answer_reports_how_the_new_showcases_pages_answer(
    client: TestClient, publish: Publish
) -> None:
    """What the updater judges instead of asking each page: the route's own answer."""
    update(client, publish(1))
    snapshot = publish(2, [_new_showcase()])
    body = {**snapshot.model_dump(), "showcase_ids": [10, 99]}  # 99: not in the snapshot
    answer = client.post("/showcase/update_config", json=body, headers=AUTH).json()
    assert answer["pages"] == {
        "/showcase/2026/boston/summer/": {"status": 200, "replay_region": None}
    }
    assert client.get("/showcase/2026/boston/summer/").status_code == 200  # as it said
    again = client.post("/showcase/update_config", json=body, headers=AUTH).json()
    assert again["changed"] is False and again["pages"] == {}  # a no-op checks nothing
