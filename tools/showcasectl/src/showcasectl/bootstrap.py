"""The composition root of the service showcasectl runs, the admin alerter (`showcasectl alerts
run`, no HTTP): `ports` makes SMTP, the alert ledger, the stuck watch's bucket, publisher and
fleet control over the runner's NATS link (nothing connects), `build` the `Service` with its two
consumers (the alerts, the stuck watch) and the stuck watch's timer; unit tests call `build`
with `FakeAlerterPorts`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from showcase_common import subjects
from showcase_common.bus import Publisher, consumer_options
from showcase_common.bus.publisher import EventPublisher
from showcase_common.fleet_control import FleetControl, KvFleetControl
from showcase_common.mail import Mailer, SmtpMailer, domain_of
from showcase_common.runner import Ports, Service, nats_link

from showcasectl.alerts import AlertLedger, KvAlertLedger, alerts_consumer
from showcasectl.config import AlerterSettings
from showcasectl.stuck import (
    KvWatchBook,
    StuckWatch,
    WatchBook,
    WatchSettings,
    stuck_watch_consumer,
)


@dataclass(kw_only=True)
class AlerterPorts(Ports):
    """What the alerter talks to; `ports` makes the real ones, tests pass `FakeAlerterPorts`."""

    mailer: Mailer
    ledger: AlertLedger
    watch_book: WatchBook
    publisher: EventPublisher
    control: FleetControl
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))


def ports(settings: AlerterSettings) -> AlerterPorts:
    """SMTP to the admin address; NATS (opened by the runner), which declares the ledger's
    bucket (`admin_alerts`) when it comes up."""
    link = nats_link(settings, buckets=[subjects.ADMIN_ALERTS_BUCKET, subjects.STUCK_WATCH_BUCKET])
    mailer = SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_from,
        settings.admin_email,
        settings.smtp_timeout_s,
    )
    ledger = KvAlertLedger(lambda: link.kv(subjects.ADMIN_ALERTS_BUCKET))
    book = KvWatchBook(lambda: link.kv(subjects.STUCK_WATCH_BUCKET), link.jetstream)
    return AlerterPorts(
        mailer=mailer,
        ledger=ledger,
        watch_book=book,
        publisher=Publisher(link.jetstream),
        control=KvFleetControl(link.jetstream, replicas=settings.nats_replicas),
        nats=link,
    )


def build(settings: AlerterSettings, ports: AlerterPorts) -> Service:
    """The alerter: no HTTP; once NATS is up, the two consumers and the stuck watch's timer."""
    options = consumer_options(settings.consumer)
    alerts = alerts_consumer(
        ports.mailer,
        ports.ledger,
        max_age_s=settings.alerts_max_age_s,
        domain=domain_of(settings.smtp_from),
        options=options,
    )
    watch = stuck_watch(settings, ports)
    return Service(
        name=settings.service_name,
        consumers=[alerts, stuck_watch_consumer(watch, options=options)],
        on_nats=[watch.run],
    )


def stuck_watch(settings: AlerterSettings, ports: AlerterPorts) -> StuckWatch:
    return StuckWatch(
        ports.watch_book,
        ports.publisher,
        ports.control,
        WatchSettings(
            after_s=settings.stuck_after_s,
            policy=settings.stuck_policy,
            check_interval_s=settings.stuck_check_interval_s,
            max_age_s=settings.alerts_max_age_s,
        ),
        clock=ports.clock,
    )
