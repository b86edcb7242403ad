"""Admin alerts: one e-mail to the admin address when a request fails, once per request, and
one when it is stuck (`RequestStuck`, from the stuck watch: `showcasectl.stuck`).

A long-running consumer (`showcasectl alerts run`) with its own durable on the two terminal
failure events and `RequestStuck`. A stuck request is recorded as `stuck-<request id>`; one the
watch failed (STUCK_POLICY=fail) also under its own id, so its late real failure is not mailed
again. The ledger (KV `admin_alerts`) is written after the mail is accepted, so a
replayed or redelivered failure sends none; a crash in between sends the mail again with the
same Message-ID (`<showcase-alert.{request id}@…>`), recognisable as the same mail. Mail goes
through the shared `showcase_common.mail.Mailer` (SMTP: `SmtpMailer`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Protocol

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from showcase_common import events, subjects
from showcase_common.bus import (
    ConsumerOptions,
    ConsumerSpec,
    Delivery,
    PermanentError,
    RetryableError,
)
from showcase_common.mail import Mailer, MailRejected, MailUnavailable, message_id
from showcase_common.progress import duration_words

log = logging.getLogger(__name__)


class AlertLedger(Protocol):
    """Which requests the admins were already told about."""

    async def alerted(self, request_id: str) -> bool: ...
    async def record(self, request_id: str, subject: str) -> None: ...


class KvAlertLedger:
    """The ledger in KV `admin_alerts`; `bucket` returns it (the runner's link declares it)."""

    def __init__(self, bucket: Callable[[], KeyValue]) -> None:
        self._bucket = bucket

    @property
    def _kv(self) -> KeyValue:
        return self._bucket()

    async def alerted(self, request_id: str) -> bool:
        try:
            await self._kv.get(request_id)
        except KeyNotFoundError:
            return False
        return True

    async def record(self, request_id: str, subject: str) -> None:
        at = dt.datetime.now(dt.UTC).isoformat()
        await self._kv.put(request_id, json.dumps({"at": at, "subject": subject}).encode())


class AdminAlerts:
    """The handler: mail each failed request of the event that was not mailed yet."""

    def __init__(
        self, mailer: Mailer, ledger: AlertLedger, *, max_age_s: float, domain: str
    ) -> None:
        self._mailer, self._ledger, self._max_age_s = mailer, ledger, max_age_s
        self._domain = domain

    async def __call__(self, delivery: Delivery) -> None:
        event = delivery.event
        age = (dt.datetime.now(dt.UTC) - event.occurred_at).total_seconds()
        if age > self._max_age_s:  # a new durable starts at the stream's beginning
            log.info("not alerting on a failure %.0fs old", age)
            return
        if isinstance(event, events.FleetUpdateFailed) and event.halted_by_canary:
            await self._canary_halted(event)
            return
        if isinstance(event, events.RequestStuck):
            await self._stuck(event)
            return
        for ref in getattr(event, "requests", []):
            if await self._ledger.alerted(ref.request_id):
                continue
            subject, body = compose(event, ref)
            await self._send(ref.request_id, subject, body)
            await self._ledger.record(ref.request_id, subject)
            log.info("alerted the admins about request %s", ref.request_id)

    async def _stuck(self, event: events.RequestStuck) -> None:
        for ref in event.requests:
            key = f"stuck-{ref.request_id}"
            if not await self._ledger.alerted(key):
                subject, body = compose_stuck(event, ref)
                await self._send(key, subject, body)
                await self._ledger.record(key, subject)
                log.info("alerted the admins: request %s is stuck", ref.request_id)
            if event.fails and not await self._ledger.alerted(ref.request_id):
                await self._ledger.record(ref.request_id, "stuck")

    async def _canary_halted(self, event: events.FleetUpdateFailed) -> None:
        """One mail per halted roll-out, whatever number of requests it carried (none for an
        `apply`); its requests are recorded too, so none is mailed again on its own."""
        key = f"canary-{event.event_id}"
        if not await self._ledger.alerted(key):
            subject, body = compose_canary(event)
            await self._send(key, subject, body)
            await self._ledger.record(key, subject)
            log.info("alerted the admins: canary halted generation %d", event.generation)
        for ref in event.requests:
            if not await self._ledger.alerted(ref.request_id):
                await self._ledger.record(ref.request_id, "canary halt")

    async def _send(self, key: str, subject: str, body: str) -> None:
        """To the admins, with a Message-ID derived from the ledger key (the same on a resend).
        A server that is away is retried (the message is redelivered); one that refuses the
        mail for good (5xx) dead-letters the event (`showcasectl dlq`)."""
        try:
            await self._mailer.send(
                subject, body, message_id=message_id("alert", key, self._domain)
            )
        except MailUnavailable as exc:
            raise RetryableError(f"cannot send the admin alert: {exc}") from exc
        except MailRejected as exc:
            raise PermanentError(f"the mail server refused the admin alert: {exc}") from exc


def compose_canary(event: events.FleetUpdateFailed) -> tuple[str, str]:
    """The mail for a roll-out its canary halted: where, why, who waits, what to do."""
    failure = event.failures[0]
    waiting = "\n".join(
        f"  {r.request_id} by {r.user}: {r.showcase.name} ({r.showcase.path})"
        for r in event.requests
    )
    subject = (
        f"Roll-out halted by its canary: generation {event.generation} on {failure.machine_id}"
    )
    body = (
        f"Generation {event.generation} was tried first on {failure.machine_id} "
        f"({failure.region}) and failed there [{failure.reason}]:\n{failure.error}\n\n"
        f"The roll-out stopped: {', '.join(event.untouched) or 'no other machine'} still serve "
        "the previous generation.\n"
        f"Requests waiting:\n{waiting or '  none (an apply)'}\n\n"
        "Fix the cause, then: showcasectl replay REQUEST_ID --from-step machines "
        "(or showcasectl apply).\n"
    )
    return subject, body


STEP_WORDS = {
    "queued": "waiting for its roll-out",
    "syncing": "publishing the index (the syncer)",
    "updating": "updating the machines (the machine-updater)",
}


def compose_stuck(event: events.RequestStuck, ref: events.RequestRef) -> tuple[str, str]:
    """The mail for a request that stopped moving: where, since when, what was done, what to do."""
    s = ref.showcase
    done = (
        "It was failed (STUCK_POLICY=fail): the studio reads that publishing stopped, and may "
        "press Retry."
        if event.fails
        else "It was left running (STUCK_POLICY=alert): the studio still sees it in progress."
    )
    subject = f"Showcase request stuck: {s.name} ({s.location_key} {s.year})"
    body = (
        f"The request {ref.request_id} by {ref.user} for {s.name} ({s.path}) made no progress "
        f"for {duration_words(event.stuck_after_s)} while {STEP_WORDS[event.step]}; its last step was at "
        f"{event.last_progress_at:%Y-%m-%d %H:%M:%S} UTC.\n{done}\n\n"
        "Look at the pipeline:  showcasectl status\n"
        f"See what happened:    showcasectl events --request {ref.request_id}\n"
        f"Re-drive it:          showcasectl replay {ref.request_id}\n"
    )
    return subject, body


def compose(event: events.Event, ref: events.RequestRef) -> tuple[str, str]:
    """The mail: what failed, for whom, and the command that re-drives it."""
    match event:
        case events.IndexSyncFailed(reason=reason, error=err):
            what = f"publishing the index failed ({reason}): {err}"
        case events.FleetUpdateFailed(generation=g, failures=failures):
            lines = "; ".join(
                f"{f.machine_id} ({f.region}): {f.error} [{f.reason}]" for f in failures
            )
            what = f"rolling out generation {g} failed on {lines}"
        case _:
            what = type(event).__name__
    s = ref.showcase
    subject = f"Showcase request failed: {s.name} ({s.location_key} {s.year})"
    body = (
        f"The request {ref.request_id} by {ref.user} for {s.name} ({s.path}) failed:\n"
        f"{what}\n\n"
        f"See what happened:  showcasectl events --request {ref.request_id}\n"
        f"Re-drive it:        showcasectl replay {ref.request_id}\n"
    )
    return subject, body


def alerts_consumer(
    mailer: Mailer,
    ledger: AlertLedger,
    *,
    max_age_s: float,
    domain: str,
    options: ConsumerOptions,
) -> ConsumerSpec:
    """The two terminal failures and the stuck requests, one handler. `domain`: the
    Message-IDs' (the sender's)."""
    alert = AdminAlerts(mailer, ledger, max_age_s=max_age_s, domain=domain)
    return ConsumerSpec(
        subjects.ADMIN_ALERTS_DURABLE,
        handles={
            events.IndexSyncFailed: alert,
            events.FleetUpdateFailed: alert,
            events.RequestStuck: alert,
        },
        options=options,
    )
