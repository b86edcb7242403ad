"""Events as the services encoded them before issue 13 (machines-only retries through the
syncer, failures without reason codes): the stream keeps 30 days of them, so every reader must
still decode them. Written as JSON literals, not through today's models."""

from __future__ import annotations

_REF = (
    '{{"request_id":"{rid}","user":"studio","showcase":{{"showcase_id":1,"year":2026,'
    '"location_key":"boston","key":"spring","name":"Spring Showcase","page":null}},'
    '"redirect_url":"http://x/"}}'
)
_SNAPSHOT = (
    '{{"generation":{g},"object_key":"db/generations/{g:012d}.sqlite3",'
    '"sha256":"' + "0" * 64 + '","size":1}}'
)
_HEAD = '"version":1,"event_id":"{eid}","occurred_at":"{at}"'


def old_failed_request(request_id: str) -> list[tuple[str, bytes]]:
    """(subject, payload) of a request whose roll-out failed on m2, retried on m2 only, as the
    old intake, syncer and updater wrote them."""
    ref = _REF.format(rid=request_id)
    rows = [
        ("showcase.created", f'{{{_HEAD},"request":{ref}}}', "00:00"),
        (
            "showcase.index.sync_retrying",
            f'{{{_HEAD},"requests":[{ref}],"attempt":2,"max_attempts":5,'
            '"message":"S3 unavailable, retrying (2 of 5)\\u2026"}',
            "00:01",
        ),
        (
            "showcase.index.synced",
            f'{{{_HEAD},"snapshot":{_SNAPSHOT.format(g=3)},"requests":[{ref}],"machine_ids":[]}}',
            "00:02",
        ),
        (
            "showcase.machine.update_failed",
            f'{{{_HEAD},"generation":3,"requests":[{ref}],"machine_id":"m2","region":"ord",'
            '"done":1,"total":2,"error":"could not be reached (ConnectError)"}',
            "00:03",
        ),
        (
            "showcase.fleet.update_failed",
            f'{{{_HEAD},"generation":3,"requests":[{ref}],"failures":[{{"machine_id":"m2",'
            '"region":"ord","error":"could not be reached (ConnectError)"}],"updated":["m1"]}',
            "00:04",
        ),
        (
            "showcase.retry_requested",
            f'{{{_HEAD},"request":{ref},"from_step":"machines","machine_ids":["m2"]}}',
            "00:05",
        ),
        (
            "showcase.index.synced",
            f'{{{_HEAD},"snapshot":{_SNAPSHOT.format(g=3)},"requests":[{ref}],'
            '"machine_ids":["m2"]}',
            "00:06",
        ),
        (
            "showcase.index.sync_failed",
            f'{{{_HEAD},"requests":[{ref}],"error":"We could not publish the updated index '
            '(storage unavailable). Nothing is lost: press Retry in a few minutes."}',
            "00:07",
        ),
    ]
    return [
        (
            subject,
            payload.replace("{eid}", f"old-{request_id}-{n}")
            .replace("{at}", f"2026-01-02T03:{at}Z")
            .encode(),
        )
        for n, (subject, payload, at) in enumerate(rows)
    ]
