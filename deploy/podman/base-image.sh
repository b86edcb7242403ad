#!/usr/bin/env bash
# The Dockerfile's base image, made locally when no registry can be reached (see deploy/README.md).
# A Debian root filesystem with Python (mmdebstrap, from this machine's apt sources), tagged as
# what the Dockerfile's FROM names, so an unchanged Dockerfile builds with `--pull=never`.
# Does nothing when the image is already there (CI keeps it between runs), or when it can be
# pulled (a machine with registry access builds from the real python image).
set -euo pipefail
BASE=${BASE_IMAGE:-docker.io/library/python:3.11-slim}
SUITE=${BASE_SUITE:-bookworm}  # bookworm has Python 3.11
ENGINE=${ENGINE:-podman}

if "$ENGINE" image exists "$BASE" 2>/dev/null; then
  echo "base image $BASE: present"; exit 0
fi
if timeout 20 "$ENGINE" pull -q "$BASE" >/dev/null 2>&1; then
  echo "base image $BASE: pulled"; exit 0
fi
command -v mmdebstrap >/dev/null || { echo "mmdebstrap is needed to make $BASE here" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "base image $BASE: no registry answers, making it with mmdebstrap ($SUITE)…"
# The customize hook trusts this machine's extra CAs (outbound TLS may pass a proxy with its own
# CA: pip and uv inside a build need it) and lets pip install into the system Python, as it may
# in the official python image.
mmdebstrap --quiet --variant=minbase \
  --include=python3,python3-pip,python3-venv,ca-certificates,passwd \
  --customize-hook='if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/"; fi' \
  --customize-hook='chroot "$1" update-ca-certificates >/dev/null' \
  --customize-hook='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED' \
  --customize-hook='ln -sf python3 "$1/usr/bin/python"' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  "$SUITE" "$work/rootfs.tar"
"$ENGINE" import --quiet "$work/rootfs.tar" showcase/base >/dev/null
"$ENGINE" tag showcase/base "$BASE"
echo "base image $BASE: made ($("$ENGINE" image inspect --format '{{.Size}}' "$BASE") bytes)"
