"""The Rails application's index database: its tables, DDL and date column; page URLs; the
served regions. showcases.yml is `showcase_common.index.showcases_yaml` (written by `psych`).

The SQLModel tables (`Location`, `Showcase`, `User`, `Region`, `RAILS_METADATA`, `rails_now`)
are imported on first use: a machine agent reads its snapshot with `sqlite3` (`rows.py`) and
must not load SQLAlchemy beside the Rails application just by importing this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from showcase_common.index.dates import format_date, parse_date
from showcase_common.index.pages import SINGLE_SHOWCASE_KEY, is_lone_showcase, page_path
from showcase_common.index.regions import ServedRegion, region_for, served_regions
from showcase_common.index.rows import LocationRow, RegionRow, ShowcaseRow, UserRow
from showcase_common.index.schema import (
    PIPELINE_PREFIX,
    create_rails_index,
    is_legacy_index,
    is_rails_index,
    rails_tables,
    table_definitions,
    table_names,
)

if TYPE_CHECKING:
    from showcase_common.index.models import (
        RAILS_METADATA,
        Location,
        Region,
        Showcase,
        User,
        rails_now,
    )

_FROM_MODELS = frozenset({"RAILS_METADATA", "Location", "Region", "Showcase", "User", "rails_now"})

__all__ = [
    "PIPELINE_PREFIX",
    "RAILS_METADATA",
    "SINGLE_SHOWCASE_KEY",
    "Location",
    "LocationRow",
    "Region",
    "RegionRow",
    "ServedRegion",
    "Showcase",
    "ShowcaseRow",
    "User",
    "UserRow",
    "create_rails_index",
    "format_date",
    "is_legacy_index",
    "is_lone_showcase",
    "is_rails_index",
    "page_path",
    "parse_date",
    "rails_now",
    "rails_tables",
    "region_for",
    "served_regions",
    "table_definitions",
    "table_names",
]


def __getattr__(name: str) -> Any:
    """The SQLModel tables, loaded when first asked for (see the module's docstring)."""
    if name in _FROM_MODELS:
        return getattr(importlib.import_module("showcase_common.index.models"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
