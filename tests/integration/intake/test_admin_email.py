"""An admin's showcase: 303 with the notice and exactly one e-mail through a real SMTP server."""

from __future__ import annotations

from pathlib import Path

import httpx
from intake.bootstrap import ports
from intake.seed import seed

from tests.integration.intake.conftest import SmtpSink, real_settings
from tests.support.waiting import eventually
from tests.unit.intake.conftest import ADMIN, deps_of, in_process


async def test_admin_form_sends_exactly_one_email(
    tmp_path: Path, nats_url: str, smtp_sink: tuple[SmtpSink, int]
) -> None:
    sink, port = smtp_sink
    settings = real_settings(
        tmp_path,
        nats_url,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="intake@test",
        smtp_to="admins@test",
    )
    seed(settings.index_db_path)
    app = in_process(settings, ports(settings), background=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as client:
            form = {"name": "Winter Ball", "location_id": "2", "year": "2026"}
            response = await client.post("/showcases", data=form, auth=ADMIN)
            assert response.status_code == 303
            page = await client.get(response.headers["location"], auth=ADMIN)
            assert "Winter Ball was successfully created." in page.text

            body = {"name": "Spring Ball", "location_id": 2}
            headers = {"Idempotency-Key": "once"}
            for _ in range(2):  # the replay must not mail again
                api = await client.post("/api/showcases", json=body, auth=ADMIN, headers=headers)
                assert api.status_code == 201

        async def two_mails() -> bool:
            return len(sink.messages) >= 2

        await eventually(two_mails)
        assert [m["Subject"] for m in sink.messages] == [
            "Winter Ball was successfully created.",
            "Spring Ball was successfully created.",
        ]
        assert sink.messages[0]["To"] == "admins@test"
        assert "chicago" in sink.messages[0].get_payload()
        # No automation for admins: nothing waits in the outbox.
        assert await deps_of(app).relay.drain() == 0
