"""The files the Rails application reads from its database directory, and the one seam to
the generators of `showcases.yml` and `htpasswd`.

The fleet's exact generators (`regenerate.showcases_yml(index, served_regions)`,
`regenerate.htpasswd(index)`, RAILS_INDEX.md) are written apart from sidecar mode: when they
land, `render_rails_config` is the only line that changes.
"""

from __future__ import annotations

from machine_agent import regenerate
from machine_agent.index_data import IndexData

INDEX = "index.sqlite3"
SHOWCASES_YML = regenerate.SHOWCASES_YML
HTPASSWD = regenerate.HTPASSWD


def render_rails_config(index: IndexData) -> dict[str, str]:
    """`showcases.yml` and `htpasswd` for the application, by file name (placed in this order)."""
    return {
        SHOWCASES_YML: regenerate.showcases_yml(index),
        HTPASSWD: regenerate.htpasswd(index),
    }
