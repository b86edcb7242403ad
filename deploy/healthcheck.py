"""The image's HEALTHCHECK: GET the running service's /readyz (or HEALTH_URL), exit 0 when 200.

Which port is the service's own setting (INTAKE_PORT, GATEWAY_PORT, …) for the module the
container runs (SERVICE_MODULE), so one image checks whichever service it was started as.
Standard library only: it runs with the image's Python, without the service's dependencies.
"""

from __future__ import annotations

import os
import sys
import urllib.request

PORTS = {  # module: (port variable, default)
    "intake": ("INTAKE_PORT", 8000),
    "progress_gateway": ("GATEWAY_PORT", 8001),
    "syncer": ("SYNCER_PORT", 8002),
    "machine_updater": ("UPDATER_PORT", 8003),
    "machine_agent": ("AGENT_PORT", 8101),
}


def url() -> str | None:
    if os.environ.get("HEALTH_URL"):
        return os.environ["HEALTH_URL"]
    module = os.environ.get("SERVICE_MODULE", "")
    if module not in PORTS:
        return None  # not an HTTP service (the alerter, a one-shot): nothing to check
    var, default = PORTS[module]
    return f"http://127.0.0.1:{os.environ.get(var, default)}/readyz"


def main() -> int:
    target = url()
    if target is None:
        return 0
    try:
        with urllib.request.urlopen(target, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except Exception as exc:
        print(f"{target}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
