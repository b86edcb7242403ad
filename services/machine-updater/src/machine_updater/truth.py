"""The truth check: each new showcase's page answers rightly from the machine, within a deadline.

Rightly is region by region (`showcase_common.replay`): a machine of the page's region (any
machine, when it has none) answers `200` itself; any other answers navigator's fly-replay to
that region. A machine may take a while after its update answered (the Rails machines prerender
after navigator reloads, which is after the CGI's answer), so each page is asked again, with a
short backoff, until `deadline_s`; then the machine does not count, naming the last answer.

An agent checks the new pages itself right after its update and reports each answer in its
update's answer (`client.Updated.pages`): `judge_reported` judges those with the same rule, and
only the pages they leave unsettled (not reported, or not yet right) are asked here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from showcase_common.events import FailureReason
from showcase_common.replay import PageAnswer, Verdict, judge

from machine_updater.client import MachineClient, MachineError
from machine_updater.fleet import Machine


@dataclass(frozen=True)
class ExpectedPage:
    path: str
    region: str | None
    """The region whose machines serve it; None: every machine."""


class NotLevel(MachineError):
    """The machine answered but does not (yet) serve what it must: worth another attempt."""

    reason: FailureReason = "not_serving"


def judge_reported(
    machine: Machine, pages: Sequence[ExpectedPage], reported: Mapping[str, PageAnswer]
) -> tuple[dict[str, str], list[ExpectedPage]]:
    """The machine's own answers judged by the updater's rule: (the pages it hands on, by
    path → region, among those answered rightly; the pages still to ask)."""
    handed_on: dict[str, str] = {}
    unsettled: list[ExpectedPage] = []
    for page in pages:
        answer = reported.get(page.path)
        verdict = judge(answer, machine.region, page.region) if answer is not None else None
        if verdict is None or not verdict.ok:
            unsettled.append(page)
        elif verdict.role == "hands_on" and page.region is not None:
            handed_on[page.path] = page.region
    return handed_on, unsettled


async def check_pages(
    client: MachineClient,
    machine: Machine,
    pages: Sequence[ExpectedPage],
    *,
    deadline_s: float,
    first_delay_s: float = 0.05,
    max_delay_s: float = 1.0,
) -> dict[str, str]:
    """Wait until every page answers rightly; the pages it hands on, by path → region.
    Raises `NotLevel` naming the first page still wrong at the deadline."""
    handed_on: dict[str, str] = {}
    until = time.monotonic() + deadline_s
    for page in pages:
        verdict = await _until_right(client, machine, page, until, first_delay_s, max_delay_s)
        if verdict.role == "hands_on" and page.region is not None:
            handed_on[page.path] = page.region
    return handed_on


async def _until_right(
    client: MachineClient,
    machine: Machine,
    page: ExpectedPage,
    until: float,
    delay: float,
    max_delay: float,
) -> Verdict:
    while True:
        try:
            verdict = judge(await client.page(machine, page.path), machine.region, page.region)
        except MachineError as exc:  # unreachable for a moment (navigator reloading)
            verdict = Verdict(False, "serves", str(exc))
        if verdict.ok:
            return verdict
        if time.monotonic() + delay > until:
            raise NotLevel(f"does not serve the page yet ({page.path} {verdict.detail})")
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)
