"""Static HTML pages for every studio and showcase, rendered incrementally.

Each page's inputs (its data and the templates' digest) are hashed; the hashes of the pages on
disk are kept in a manifest, so an update renders only the pages whose inputs changed and removes
the pages whose showcase or studio is gone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from showcase_common.index import (
    SINGLE_SHOWCASE_KEY,
    LocationRow,
    ShowcaseRow,
    is_lone_showcase,
    page_path,
    parse_date,
)

from machine_agent.files import sync_filesystem, write_atomically
from machine_agent.index_data import IndexData

log = logging.getLogger(__name__)

MANIFEST = ".manifest.json"
PAGE_FILE = "index.html"
# A URL segment we are willing to turn into a directory name (no "..", no separators).
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$")


def safe_segments(*parts: str) -> bool:
    return all(_SEGMENT.fullmatch(p) and ".." not in p for p in parts)


@dataclass(frozen=True)
class Page:
    path: str
    """URL path below /showcase/, without slashes at the ends: "2026/boston/spring"."""
    template: str
    context: dict[str, Any]


@dataclass
class RenderReport:
    rendered: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    total: int = 0


def _studio(location: LocationRow) -> dict[str, Any]:
    return {
        "key": location.key,
        "name": location.name,
        "region": location.region,
        "locale": location.locale,
        "logo": location.logo,
        "url": f"/showcase/studios/{location.key}/",
    }


def _showcase(show: ShowcaseRow, location: LocationRow, lone: bool) -> dict[str, Any]:
    # `date` is shown as the index holds it (free-form in old rows: `2025`, `11-11-23`)
    start, end = parse_date(show.date)
    return {
        "year": show.year,
        "key": show.key,
        "name": show.name,
        "date": show.date or None,
        "start_date": start.isoformat() if start else None,
        "end_date": end.isoformat() if end else None,
        "url": page_path(show.year or 0, location.key or "", show.key or "", lone=lone),
    }


def _in_order(show: ShowcaseRow) -> tuple[int, int, int, int]:
    return (-(show.year or 0), 0 if show.order is None else 1, show.order or 0, show.id or 0)


def plan_pages(index: IndexData) -> list[Page]:
    """Every page the index calls for, with the data it shows: one per showcase, at the fleet's
    URL (a lone `showcase` at its location's year URL), and one per studio."""
    by_id = {loc.id: loc for loc in index.locations if safe_segments(loc.key or "")}
    by_studio: dict[int | None, list[dict[str, Any]]] = {loc_id: [] for loc_id in by_id}
    per_year = Counter((s.year, s.location_id) for s in index.showcases)
    pages: list[Page] = []
    for show in sorted(index.showcases, key=_in_order):
        location = by_id.get(show.location_id)
        if (
            location is None
            or show.year is None
            or not safe_segments(str(show.year), show.key or "")
        ):
            log.warning("no page for showcase %s: unsafe key in its URL", show.id)
            continue
        lone = is_lone_showcase(show.key or "", per_year[show.year, show.location_id])
        entry = _showcase(show, location, lone)
        by_studio[location.id].append(entry)
        context: dict[str, Any] = {"showcase": entry, "studio": _studio(location)}
        pages.append(
            Page(entry["url"].strip("/").removeprefix("showcase/"), "showcase.html", context)
        )
    for loc_id, location in by_id.items():
        studio_context = {"studio": _studio(location), "showcases": by_studio[loc_id]}
        pages.append(Page(f"studios/{location.key}", "studio.html", studio_context))
    return pages


class Prerenderer:
    def __init__(self, pages_dir: Path) -> None:
        self.pages_dir = pages_dir
        self._env = Environment(
            loader=PackageLoader("machine_agent", "templates"),
            autoescape=select_autoescape(default=True),
            keep_trailing_newline=True,
        )
        self._templates_digest = _templates_digest()

    def page_file(self, *segments: str) -> Path | None:
        """The rendered file of the page at these URL segments, when it exists."""
        if not safe_segments(*segments):
            return None
        path = self.pages_dir.joinpath(*segments, PAGE_FILE)
        return path if path.is_file() else None

    def page_at(self, *segments: str) -> Path | None:
        """The file the page routes serve at these segments: a lone `showcase` also answers
        at `{year}/{location}/showcase/` (the fleet's URL rule)."""
        found = self.page_file(*segments)
        if found is None and len(segments) == 3 and segments[2] == SINGLE_SHOWCASE_KEY:
            return self.page_file(*segments[:2])
        return found

    def serves(self, path: str) -> bool:
        """Whether the page routes answer `path` (`/showcase/…/`) with a rendered page."""
        if not path.startswith("/showcase/") or not path.endswith("/"):
            return False
        return self.page_at(*path[len("/showcase/") : -1].split("/")) is not None

    def render(self, index: IndexData) -> RenderReport:
        manifest = self._load_manifest()
        report = RenderReport()
        current: dict[str, str] = {}
        for page in plan_pages(index):
            digest = self._digest(page)
            current[page.path] = digest
            target = self.pages_dir / page.path / PAGE_FILE
            if manifest.get(page.path) == digest and target.is_file():
                continue
            html = self._env.get_template(page.template).render(**page.context)
            write_atomically(target, html.encode(), durable=False)
            report.rendered.append(page.path)
        for gone in sorted(set(manifest) - set(current)):
            (self.pages_dir / gone / PAGE_FILE).unlink(missing_ok=True)
            report.removed.append(gone)
        report.total = len(current)
        if current != manifest:
            # One flush for all the pages, before the manifest that vouches for them: after a
            # crash the manifest never names a page that did not reach the disk.
            sync_filesystem(self.pages_dir)
            manifest_bytes = json.dumps(current, sort_keys=True).encode()
            write_atomically(self.pages_dir / MANIFEST, manifest_bytes)
        return report

    def _digest(self, page: Page) -> str:
        payload = json.dumps([self._templates_digest, page.template, page.context], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def _load_manifest(self) -> dict[str, str]:
        try:
            return dict(json.loads((self.pages_dir / MANIFEST).read_text()))
        except (FileNotFoundError, ValueError):
            return {}


def _templates_digest() -> str:
    """A change to any template re-renders every page."""
    digest = hashlib.sha256()
    folder = resources.files("machine_agent") / "templates"
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if item.name.endswith(".html"):
            digest.update(item.name.encode() + b"\0" + item.read_bytes())
    return digest.hexdigest()
