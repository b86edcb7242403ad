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
    """`login:hash` per user, as the web server's basic-auth file expects."""
    return "".join(
        f"{u.login}:{u.password_hash}\n"
        for u in index.users
        if _safe(u.login, ":\n\r") and _safe(u.password_hash, "\n\r")
    )


def _safe(value: str, forbidden: str) -> bool:
    # A colon in a login, or a newline anywhere, would forge another entry. The hash may hold
    # colons (e.g. "scrypt:32768:8:1$..."): readers split on the first one only.
    return bool(value) and not any(c in value for c in forbidden)


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
