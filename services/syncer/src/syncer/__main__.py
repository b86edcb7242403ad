"""`python -m syncer`: the one runner, given the syncer's settings, ports and build.

`python -m syncer keygen` prints a new snapshot signing key pair instead (docs/SECURITY.md).
"""

import sys

from showcase_common.runner import run

from syncer.bootstrap import build, ports
from syncer.config import SyncerSettings

KEYGEN_HELP = """\
A new Ed25519 key pair for the snapshots in S3:
  SNAPSHOT_SIGNING_KEY  the syncer's secret: it signs every generation and pointer
                        (e.g. `fly secrets set -a <syncer app> SNAPSHOT_SIGNING_KEY=…`)
  SNAPSHOT_VERIFY_KEY   public: every agent's, to verify them (not a secret)
"""


def keygen() -> None:
    from showcase_common.signing import generate_key_pair

    private, public = generate_key_pair()
    print(KEYGEN_HELP, file=sys.stderr)
    print(f"SNAPSHOT_SIGNING_KEY={private}")
    print(f"SNAPSHOT_VERIFY_KEY={public}")


def main() -> None:
    if sys.argv[1:2] == ["keygen"]:
        keygen()
        return
    run(SyncerSettings, ports, build)


if __name__ == "__main__":
    main()
