"""Whether a machine answers a showcase's page rightly, region by region (fly-replay).

On the real fleet a showcase is served only by the machines of its location's region (every
machine when the location has no region); navigator answers the page on any other machine with
a fly-replay to that region, which Fly's edge follows (rubys/navigator
`internal/server/fly_replay.go`: status 307, `Content-Type: application/vnd.fly.replay+json`,
body `{"region": "dfw", "timeout": "30s", "fallback": "force_self", "transform": {…}}`).

So "the page answers on this machine" means `200` on a machine of the page's region and the
replay to that region on any other (a machine elsewhere that serves the page itself, as the
agents' built-in pages do, counts too). The updater's truth check and a sidecar agent's own page
check both judge an answer with `judge`; the verdict says which the machine did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

REPLAY_CONTENT_TYPE = "application/vnd.fly.replay+json"
REPLAY_STATUS = 307

Role = Literal["serves", "hands_on"]
"""What a machine does with the page: serves it itself, or hands it on to its region."""


@dataclass(frozen=True)
class PageAnswer:
    """What a machine answered for a page: its status, and the region of a fly-replay."""

    status: int
    replay_region: str | None = None

    @classmethod
    def of(cls, status: int, content_type: str | None, body: bytes) -> PageAnswer:
        return cls(status, replay_region(status, content_type, body))

    def describe(self) -> str:
        if self.replay_region is not None:
            return f"answered {self.status} with a fly-replay to {self.replay_region}"
        return f"answered {self.status}"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    role: Role
    """What the machine must do (and, when ok, does) with the page."""
    detail: str
    """Why not, when not ok."""


def replay_region(status: int, content_type: str | None, body: bytes) -> str | None:
    """The region a fly-replay answer names, or None when the answer is no region replay."""
    if status != REPLAY_STATUS or not content_type:
        return None
    if content_type.split(";")[0].strip().lower() != REPLAY_CONTENT_TYPE:
        return None
    try:
        parsed = json.loads(body or b"null")
    except ValueError:
        return None
    region = parsed.get("region") if isinstance(parsed, dict) else None
    return region if isinstance(region, str) and region else None


def role_of(machine_region: str, page_region: str | None) -> Role:
    """A page without a region is served everywhere; otherwise only in its region."""
    return "serves" if page_region is None or page_region == machine_region else "hands_on"


def judge(answer: PageAnswer, machine_region: str, page_region: str | None) -> Verdict:
    """`200` from a machine of the page's region (any machine when it has none); elsewhere,
    navigator's replay to that region (or the page itself). Anything else (404, a replay to
    another region, a replay from a machine of the page's own region) is not."""
    role = role_of(machine_region, page_region)
    if answer.status == 200:
        # Elsewhere too: a machine that serves every page itself (the agent's built-in pages,
        # a navigator configured without regions) has the page as surely as one that hands on.
        return Verdict(True, "serves", "")
    if role == "serves":
        where = f"in its region {page_region}" if page_region else "(the page has no region)"
        return Verdict(False, role, f"{answer.describe()}, not 200 {where}")
    if answer.replay_region == page_region:
        return Verdict(True, role, "")
    return Verdict(
        False,
        role,
        f"{answer.describe()}, not 307 with a fly-replay to {page_region} "
        f"(the page's region; this machine is in {machine_region or 'no region'})",
    )
