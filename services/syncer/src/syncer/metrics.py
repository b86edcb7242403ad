"""The syncer's own metrics (the bus's are `showcase_*`, in `showcase_common.metrics`).

Served with them at `GET /metrics` on the health port. No label names a request or a showcase.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from showcase_common.metrics import DURATION_BUCKETS

PUBLICATIONS = Counter(
    "syncer_publications_total",
    "Attempts to publish a new generation, by outcome: published, storage_unavailable (the S3 "
    "retry budget ran out), snapshot_failed (the index could not be copied), race_lost (other "
    "syncers kept winning the pointer), preparation_failed (a required pre-snapshot command "
    "failed).",
    ["outcome"],
)
PUBLICATION_SECONDS = Histogram(
    "syncer_publication_seconds",
    "Time from the start of a publication to its pointer write and legacy copy (S3 retries "
    "included), for the publications that succeeded.",
    buckets=DURATION_BUCKETS,
)
REQUESTS_COVERED = Counter(
    "syncer_requests_covered_total",
    "Requests reported synced (IndexSynced) by a newly published generation.",
)
GENERATION = Gauge(
    "syncer_generation",
    "The generation this syncer published last (0 until its first publication).",
)
S3_RETRIES = Counter(
    "syncer_s3_retries_total",
    "S3 calls retried after a transient error (each retry of the backoff budget counts once).",
)
GENERATIONS_REMOVED = Counter(
    "syncer_generations_removed_total",
    "Generation objects deleted from the bucket by retention.",
)
LEGACY_LEFT_ALONE = Counter(
    "syncer_legacy_left_alone_total",
    "Publications that left S3's db/index.sqlite3 alone because the pipeline did not write it "
    "(no generation metadata) and SYNCER_ADOPT_LEGACY_INDEX is off.",
)
