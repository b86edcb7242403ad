"""The Rails application's index database: its tables, DDL and date column; page URLs; the
served regions. showcases.yml is `showcase_common.index.showcases_yaml` (written by `psych`)."""

from showcase_common.index.dates import format_date, parse_date
from showcase_common.index.models import (
    RAILS_METADATA,
    Location,
    Region,
    Showcase,
    User,
    rails_now,
)
from showcase_common.index.pages import SINGLE_SHOWCASE_KEY, is_lone_showcase, page_path
from showcase_common.index.regions import ServedRegion, region_for, served_regions
from showcase_common.index.schema import (
    PIPELINE_PREFIX,
    create_rails_index,
    is_legacy_index,
    is_rails_index,
    rails_tables,
    table_definitions,
    table_names,
)

__all__ = [
    "PIPELINE_PREFIX",
    "RAILS_METADATA",
    "SINGLE_SHOWCASE_KEY",
    "Location",
    "Region",
    "ServedRegion",
    "Showcase",
    "User",
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
