"""The composition root of the service showcasectl runs, the admin alerter (`showcasectl alerts
run`, no HTTP): `ports` makes SMTP and the alert ledger over the runner's NATS link (nothing
connects), `build` the `Service` with its one consumer; unit tests call `build` with
`FakeAlerterPorts`."""

from __future__ import annotations

from dataclasses import dataclass

from showcase_common import subjects
from showcase_common.bus import consumer_options
from showcase_common.mail import Mailer, SmtpMailer, domain_of
from showcase_common.runner import Ports, Service, nats_link

from showcasectl.alerts import AlertLedger, KvAlertLedger, alerts_consumer
from showcasectl.config import AlerterSettings


@dataclass(kw_only=True)
class AlerterPorts(Ports):
    """What the alerter talks to; `ports` makes the real ones, tests pass `FakeAlerterPorts`."""

    mailer: Mailer
    ledger: AlertLedger


def ports(settings: AlerterSettings) -> AlerterPorts:
    """SMTP to the admin address; NATS (opened by the runner), which declares the ledger's
    bucket (`admin_alerts`) when it comes up."""
    link = nats_link(settings, buckets=[subjects.ADMIN_ALERTS_BUCKET])
    mailer = SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_from,
        settings.admin_email,
        settings.smtp_timeout_s,
    )
    ledger = KvAlertLedger(lambda: link.kv(subjects.ADMIN_ALERTS_BUCKET))
    return AlerterPorts(mailer=mailer, ledger=ledger, nats=link)


def build(settings: AlerterSettings, ports: AlerterPorts) -> Service:
    """The alerter: no HTTP, the consumer once NATS is up."""
    consumer = alerts_consumer(
        ports.mailer,
        ports.ledger,
        max_age_s=settings.alerts_max_age_s,
        domain=domain_of(settings.smtp_from),
        options=consumer_options(settings.consumer),
    )
    return Service(name=settings.service_name, consumers=[consumer])
