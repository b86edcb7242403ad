"""The files the Rails application reads from its database directory, made by the fleet's
exact generators (`regenerate.showcases_yml`, `regenerate.htpasswd`; RAILS_INDEX.md)."""

from __future__ import annotations

from collections.abc import Sequence

from machine_agent import regenerate
from machine_agent.index_data import IndexData

INDEX = "index.sqlite3"
SHOWCASES_YML = regenerate.SHOWCASES_YML
HTPASSWD = regenerate.HTPASSWD


def render_rails_config(
    index: IndexData, served_region_codes: Sequence[str] | None = None
) -> dict[str, str]:
    """`showcases.yml` and `htpasswd` for the application, by file name (placed in this order)."""
    return {
        SHOWCASES_YML: regenerate.showcases_yml(index, served_region_codes),
        HTPASSWD: regenerate.htpasswd(index),
    }
