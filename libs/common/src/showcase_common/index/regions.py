"""Which served region a location's pages are assigned to (the Rails `RegionConfiguration`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from showcase_common.index.rows import LocationRow, RegionRow

FLY = "fly"


@dataclass(frozen=True)
class ServedRegion:
    """A region where machines serve the fleet, with its coordinates when known."""

    code: str
    latitude: float | None = None
    longitude: float | None = None


def served_regions(
    regions: Iterable[RegionRow], codes: Sequence[str] | None = None
) -> list[ServedRegion]:
    """The served regions, in order: `codes` when given (coordinates from the `regions` rows),
    else the `regions` rows of type `fly` in `code` order (the Rails side's fallback)."""
    rows = [r for r in regions if r.code]
    if codes is None:
        fly = sorted((r for r in rows if r.type == FLY), key=lambda r: r.code or "")
        return [ServedRegion(r.code or "", r.latitude, r.longitude) for r in fly]
    by_code = {r.code: r for r in rows}
    served = []
    for code in codes:
        row = by_code.get(code)
        served.append(ServedRegion(code, *((row.latitude, row.longitude) if row else (None, None))))
    return served


def region_for(location: LocationRow, served: Sequence[ServedRegion]) -> str | None:
    """The location's own region when served, else the served region nearest its coordinates
    (the first of equals), else None."""
    if present(location.region) and any(r.code == location.region for r in served):
        return location.region
    if location.latitude is None or location.longitude is None:
        return None
    here = (location.latitude, location.longitude)
    best, best_distance = None, math.inf
    for region in served:
        if region.latitude is None or region.longitude is None:
            continue
        distance = haversine_km(here, (region.latitude, region.longitude))
        if distance < best_distance:  # strictly nearer: a tie keeps the first
            best, best_distance = region.code, distance
    return best


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance, computed as the Rails side does (same operations, same floats)."""
    (lat1, lon1), (lat2, lon2) = a, b
    d_lat = (lat2 - lat1) * math.pi / 180
    d_lon = (lon2 - lon1) * math.pi / 180
    h = math.sin(d_lat / 2) * math.sin(d_lat / 2) + math.cos(lat1 * math.pi / 180) * math.cos(
        lat2 * math.pi / 180
    ) * math.sin(d_lon / 2) * math.sin(d_lon / 2)
    c = 2 * math.atan2(math.sqrt(h), math.sqrt(1 - h))
    return 6371 * c


def present(text: str | None) -> bool:
    """Rails' `present?` for a string: not nil and not only whitespace."""
    return text is not None and text.strip() != ""
