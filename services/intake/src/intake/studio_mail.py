"""The studio's e-mail about its request: one when the showcase is live (its name, link and the
time it took), one when it failed (what failed, and that Retry is on the request's page).

Written as `pipeline_mail_outbox` rows addressed to the requester's `users.email`, keyed by the
request (a completion) or by the request and the failure event (a failure), so a redelivered or
replayed event finds its row already there and adds none; the mail relay sends each row once
(`intake.mail`), with a Message-ID derived from that key. In the location's language when there
is a translation for it (`locations.locale`, e.g. `es_ES`), English otherwise; a text and an
HTML part.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
from dataclasses import dataclass

from showcase_common.index.models import Location, Showcase, User

from intake.models import MailOutbox

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "live_subject": "{name} is live",
        "live_intro": "Hello,\n\nyour showcase {name} ({studio}, {year}) is live:",
        "took": "It took {took} from your request to every region.",
        "failed_subject": "{name} could not be published",
        "failed_intro": "Hello,\n\nyour showcase {name} ({studio}, {year}) could not be published.",
        "retry": "Nothing is lost: press Retry on the request's page:",
        "sign": "— the showcase team",
        "second": "1 second",
        "seconds": "{n} seconds",
        "minutes": "{n} min {s} s",
    },
    "es": {
        "live_subject": "{name} ya está publicado",
        "live_intro": "Hola:\n\nsu showcase {name} ({studio}, {year}) ya está publicado:",
        "took": "Tardó {took} desde su solicitud hasta todas las regiones.",
        "failed_subject": "{name} no se pudo publicar",
        "failed_intro": "Hola:\n\nsu showcase {name} ({studio}, {year}) no se pudo publicar.",
        "retry": "No se ha perdido nada: pulse Reintentar (Retry) en la página de la solicitud:",
        "sign": "— el equipo de showcases",
        "second": "1 segundo",
        "seconds": "{n} segundos",
        "minutes": "{n} min {s} s",
    },
}
"""Each language's words; `language` picks one from a location's locale."""


def language(locale: str | None) -> str:
    """`es_ES` → `es` when there are Spanish words; English for anything else (or nothing)."""
    code = (locale or "").replace("-", "_").split("_", 1)[0].lower()
    return code if code in WORDS else "en"


def completion_id(request_id: str) -> str:
    """The completion mail's row id (and Message-ID part): the request's own id."""
    return request_id


def failure_id(request_id: str, event_id: str) -> str:
    """One failure mail per failure event: a retry that fails again is told again; the same
    event delivered twice is not."""
    return hashlib.sha256(f"failed:{request_id}:{event_id}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Requested:
    """What a studio's e-mail speaks of."""

    showcase: Showcase
    location: Location
    owner: User
    page_url: str
    """The request's page on intake."""


def _took(seconds: float, words: dict[str, str]) -> str:
    whole = max(0, round(seconds))
    if whole == 1:
        return words["second"]
    if whole < 120:
        return words["seconds"].format(n=whole)
    return words["minutes"].format(n=whole // 60, s=whole % 60)


def _facts(requested: Requested) -> dict[str, object]:
    return {
        "name": requested.showcase.name,
        "studio": requested.location.name or requested.location.key,
        "year": requested.showcase.year,
    }


def completed(
    row_id: str, requested: Requested, link: str, took_s: float, now: dt.datetime
) -> MailOutbox:
    words = WORDS[language(requested.location.locale)]
    facts = _facts(requested)
    intro = words["live_intro"].format(**facts)
    took = words["took"].format(took=_took(took_s, words))
    text = f"{intro}\n\n{link}\n\n{took}\n\n{words['sign']}\n"
    page = (
        f"<p>{_html_lines(intro)}</p>\n"
        f'<p><a href="{html.escape(link)}">{html.escape(link)}</a></p>\n'
        f"<p>{html.escape(took)}</p>\n<p>{html.escape(words['sign'])}</p>\n"
    )
    return _row(row_id, words["live_subject"].format(**facts), text, page, requested, now)


def failed(row_id: str, requested: Requested, error: str, now: dt.datetime) -> MailOutbox:
    words = WORDS[language(requested.location.locale)]
    facts = _facts(requested)
    intro = words["failed_intro"].format(**facts)
    url = requested.page_url
    text = f"{intro}\n\n{error}\n\n{words['retry']}\n{url}\n\n{words['sign']}\n"
    page = (
        f"<p>{_html_lines(intro)}</p>\n<p>{html.escape(error)}</p>\n"
        f'<p>{html.escape(words["retry"])}<br><a href="{html.escape(url)}">{html.escape(url)}</a>'
        f"</p>\n<p>{html.escape(words['sign'])}</p>\n"
    )
    return _row(row_id, words["failed_subject"].format(**facts), text, page, requested, now)


def _html_lines(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.splitlines() if line)


def _row(
    row_id: str, subject: str, text: str, page: str, requested: Requested, now: dt.datetime
) -> MailOutbox:
    lang = language(requested.location.locale)
    document = (
        f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>\n<body>\n{page}</body></html>\n"
    )
    return MailOutbox(
        id=row_id,
        subject=subject,
        body=text,
        html=document,
        recipient=(requested.owner.email or "").strip(),
        created_at=now,
        next_attempt_at=now,
    )
