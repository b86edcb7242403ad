"""Templates for recurring events: a past showcase as the start of next year's.

Studios hold the same events every year. `template_of` turns a past showcase into the form's
values for its next occurrence: the name with its year moved on, the dates shifted by whole
years to the same weekday (a Saturday stays a Saturday), the key left blank so it is derived
afresh from the new name. Pure: the caller reads the showcase (and checks who may see it).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from showcase_common.index import parse_date


@dataclass(frozen=True)
class Template:
    name: str
    location_id: int
    year: int
    start_date: dt.date | None
    end_date: dt.date | None

    def form_values(self) -> dict[str, str]:
        """The form's fields (the key blank: derived afresh; the year follows the start date)."""
        values = {"name": self.name, "location_id": str(self.location_id)}
        if self.start_date is not None:
            values["start_date"] = self.start_date.isoformat()
            if self.end_date is not None and self.end_date != self.start_date:
                values["end_date"] = self.end_date.isoformat()
        else:
            values["year"] = str(self.year)
        return values


def same_weekday_years_later(day: dt.date, years: int) -> dt.date:
    """`day` moved by `years` whole years, then to the nearest date with `day`'s weekday (at
    most three days off: the second Saturday of May stays near the second Saturday of May)."""
    try:
        moved = day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        moved = day.replace(year=day.year + years, day=28)
    shift = (day.weekday() - moved.weekday()) % 7
    if shift > 3:
        shift -= 7
    return moved + dt.timedelta(days=shift)


def template_of(
    name: str, location_id: int, year: int | None, date: str | None, today: dt.date
) -> Template:
    """The next occurrence of a showcase: the first year after its own whose dates are not
    past (the year after this one for a showcase without dates)."""
    start, end = parse_date(date)
    old_year = year or (start.year if start else today.year)
    years = 1
    if start is not None:
        while same_weekday_years_later(start, years) < today:
            years += 1
    else:
        years = max(1, today.year + 1 - old_year)
    new_start = same_weekday_years_later(start, years) if start else None
    new_end = None
    if start is not None and end is not None and new_start is not None:
        new_end = new_start + (end - start)
    new_year = new_start.year if new_start else old_year + years
    return Template(
        name=_moved_name(name, old_year, new_year),
        location_id=location_id,
        year=new_year,
        start_date=new_start,
        end_date=new_end,
    )


def _moved_name(name: str, old_year: int, new_year: int) -> str:
    """The name with its year moved on ("Spring Showcase 2026" → "Spring Showcase 2027")."""
    return re.sub(rf"\b{old_year}\b", str(new_year), name)
