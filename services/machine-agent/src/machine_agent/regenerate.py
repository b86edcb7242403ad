"""The configuration derived from the index: showcases.yml, the tenants list, the users file.

Each file is written atomically and only when its bytes change, so a watcher (or a reload of the
web server on the machine) is only triggered by a real change.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from showcase_common.index import showcases_yaml

from machine_agent.files import write_if_changed
from machine_agent.index_data import IndexData

SHOWCASES_YML = "showcases.yml"
TENANTS_LIST = "tenants.list"
HTPASSWD = "htpasswd"


def showcases_yml(index: IndexData) -> str:
    """`showcases_yaml.render`'s bytes, emitted by libyaml when present (about 4x faster on a
    fleet-sized index; the unit tests hold the two outputs equal)."""
    dumper = getattr(yaml, "CSafeDumper", None)
    if dumper is None:
        return showcases_yaml.render(index.locations, index.showcases)
    document = showcases_yaml.build(index.locations, index.showcases)
    return yaml.dump(document, Dumper=dumper, sort_keys=False, allow_unicode=True)


def tenants_list(index: IndexData) -> str:
    """One line per showcase: `year/location_key/key<TAB>region<TAB>name`, sorted."""
    regions = {loc.id: (loc.key, loc.region) for loc in index.locations}
    lines = []
    for show in index.showcases:
        location_key, region = regions[show.location_id]
        name = " ".join(show.name.split())  # a tab or newline in a name must not break the line
        lines.append(f"{show.year}/{location_key}/{show.key}\t{region}\t{name}")
    return "".join(f"{line}\n" for line in sorted(lines))


def htpasswd(index: IndexData) -> str:
    """The non-NULL `users.password` lines (each a whole htpasswd line), sorted, joined with
    newlines (RAILS_INDEX.md). A minimal adaptation to the Rails models; the fleet's exact
    generator replaces it."""
    return "\n".join(sorted(u.password for u in index.users if u.password))


def regenerate(index: IndexData, config_dir: Path) -> list[str]:
    """Write the derived files under `config_dir`; the names of those that changed."""
    files = {
        SHOWCASES_YML: showcases_yml(index),
        TENANTS_LIST: tenants_list(index),
        HTPASSWD: htpasswd(index),
    }
    return [
        name for name, text in files.items() if write_if_changed(config_dir / name, text.encode())
    ]
