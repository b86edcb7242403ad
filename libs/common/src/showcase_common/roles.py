"""Each service's NATS user and its permissions (docs/SECURITY.md, "Least privilege"), derived
from the one declaration of who publishes and who consumes which event,
`showcase_common.topology` (a new event or consumer is declared there; this module adds what
NATS needs beyond it: buckets read or watched, direct reads of the stream). `nats_permissions(role)` turns a role into nats-server's
`permissions` block: the role may publish only the events it emits, the dead letters of its own
durables, and the JetStream API calls its streams, durables and key-value buckets need; it may
subscribe only to its inboxes and, for a watched bucket, that bucket's updates. The operator
(`showcasectl`) may do anything. `tests/integration/common/test_nats_permissions.py` runs them
against a real nats-server.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from showcase_common import subjects, topology


def _publishes(party: str) -> tuple[str, ...]:
    """The subjects a party publishes, from `showcase_common.topology` (the one declaration of
    who publishes and consumes which event, checked against the code)."""
    return tuple(e.subject for e in topology.party(party).publishes)


def _durables(party: str) -> tuple[str, ...]:
    return tuple(c.durable for c in topology.party(party).consumes)


@dataclass(frozen=True)
class Role:
    """One kind of NATS client: the service's user name and what it does on the bus."""

    user: str
    publishes: tuple[str, ...] = ()
    """Event subjects it emits (on the `SHOWCASE` stream)."""
    durables: tuple[str, ...] = ()
    """Durable pull consumers it runs on `SHOWCASE` (and dead-letters to `showcase_dlq.<d>`)."""
    buckets: tuple[str, ...] = ()
    """Key-value buckets it reads and writes (declaring them if missing)."""
    reads_buckets: tuple[str, ...] = ()
    """Key-value buckets it only reads."""
    watches_buckets: tuple[str, ...] = ()
    """Buckets whose updates it follows (an ordered push consumer)."""
    reads_stream: bool = False
    """Reads single messages of `SHOWCASE` (e.g. the last message of a subject)."""
    operator: bool = False
    """Everything (the operators' tool)."""
    extra_publish: tuple[str, ...] = field(default=())
    """Anything else it must publish, said here so it is reviewed."""


ROLES: tuple[Role, ...] = (
    Role(
        "intake",
        publishes=_publishes("intake"),
        durables=_durables("intake"),  # outcomes → the studio's e-mail
        # the admin page: pause and resume (declaring the bucket when no one has yet)
        buckets=(subjects.FLEET_CONTROL_BUCKET,),
        reads_buckets=(subjects.REQUEST_STATE_BUCKET,),
        reads_stream=True,  # the admin page: the last IndexSynced and RollbackRequested
        # a studio's or an admin's Retry, and the admin page's Pause, Resume and Apply, go into
        # the audit trail (its own stream), whose last actions the admin page reads back
        extra_publish=(
            *(
                f"{subjects.AUDIT_SUBJECT_PREFIX}.{a}"
                for a in ("retry", "pause", "resume", "apply")
            ),
            *(
                f"$JS.API.STREAM.{verb}.{subjects.AUDIT_STREAM}"
                for verb in ("INFO", "CREATE", "UPDATE", "MSG.GET")
            ),
        ),
    ),
    Role(
        "syncer",
        publishes=_publishes("syncer"),
        durables=_durables("syncer"),
        buckets=(subjects.SYNC_LEDGER_BUCKET,),
    ),
    Role(
        "machine-updater",
        publishes=_publishes("machine-updater"),
        durables=_durables("machine-updater"),
        reads_buckets=(subjects.FLEET_CONTROL_BUCKET,),  # paused by an operator?
        reads_stream=True,  # the newest IndexSynced
    ),
    Role(
        "progress-gateway",
        durables=_durables("progress-gateway"),
        buckets=(subjects.REQUEST_STATE_BUCKET,),
        watches_buckets=(subjects.REQUEST_STATE_BUCKET,),
    ),
    Role(
        "alerts",  # `showcasectl alerts run`: mails the admins; the stuck watch
        publishes=_publishes("showcasectl-alerts"),
        durables=_durables("showcasectl-alerts"),
        buckets=(subjects.ADMIN_ALERTS_BUCKET, subjects.STUCK_WATCH_BUCKET),
        reads_buckets=(subjects.FLEET_CONTROL_BUCKET,),  # paused or pinned: waiting, not stuck
        watches_buckets=(subjects.STUCK_WATCH_BUCKET,),  # its keys are listed by a watch…
        # …whose consumer nats-py asks about once it is made
        extra_publish=(f"$JS.API.CONSUMER.INFO.KV_{subjects.STUCK_WATCH_BUCKET}.>",),
    ),
    Role("showcasectl", operator=True),  # replays, retries, apply, pause, rollback, audit…
)
"""Every NATS client of the pipeline. The machine agents have none: they never touch NATS."""


OPERATOR_ONLY_EVENTS: tuple[str, ...] = (subjects.ROLLOUT_REQUESTED, subjects.ROLLBACK_REQUESTED)
"""Events only the operators' tool publishes (`showcasectl apply`, `rollback`)."""


def role(user: str) -> Role:
    for declared in ROLES:
        if declared.user == user:
            return declared
    raise KeyError(f"no NATS role {user!r}; the roles are {', '.join(r.user for r in ROLES)}")


def publishers_of(subject: str) -> list[str]:
    """The users that may publish `subject` (the operator aside)."""
    return [r.user for r in ROLES if subject in r.publishes]


_API = "$JS.API"
_STREAMS = (subjects.STREAM, subjects.DEAD_LETTER_STREAM)


def _kv_stream(bucket: str) -> str:
    return f"KV_{bucket}"


def _declares(stream: str) -> list[str]:
    return [f"{_API}.STREAM.{verb}.{stream}" for verb in ("INFO", "CREATE", "UPDATE")]


def _durable(stream: str, durable: str) -> list[str]:
    return [
        f"{_API}.CONSUMER.CREATE.{stream}.{durable}",
        f"{_API}.CONSUMER.CREATE.{stream}.{durable}.>",
        f"{_API}.CONSUMER.DURABLE.CREATE.{stream}.{durable}",
        f"{_API}.CONSUMER.INFO.{stream}.{durable}",
        f"{_API}.CONSUMER.MSG.NEXT.{stream}.{durable}",
        f"$JS.ACK.{stream}.{durable}.>",
        f"{subjects.DEAD_LETTER_SUBJECT_PREFIX}.{durable}",
    ]


def _reads(stream: str) -> list[str]:
    return [
        f"{_API}.STREAM.MSG.GET.{stream}",
        f"{_API}.DIRECT.GET.{stream}",
        f"{_API}.DIRECT.GET.{stream}.>",
    ]


def publish_allowed(r: Role) -> list[str]:
    """The subjects `r` may publish (the operator: all)."""
    if r.operator:
        return [">"]
    allowed = [f"{_API}.INFO", f"{_API}.STREAM.NAMES"]
    for stream in _STREAMS:  # every client declares the stream and the dead-letter stream
        allowed += _declares(stream)
    allowed += list(r.publishes)
    for durable in r.durables:
        allowed += _durable(subjects.STREAM, durable)
    if r.reads_stream:
        allowed += _reads(subjects.STREAM)
    for bucket in r.buckets:
        allowed += [*_declares(_kv_stream(bucket)), f"$KV.{bucket}.>"]
    for bucket in {*r.buckets, *r.reads_buckets}:
        allowed += [f"{_API}.STREAM.INFO.{_kv_stream(bucket)}", *_reads(_kv_stream(bucket))]
    for bucket in r.watches_buckets:
        stream = _kv_stream(bucket)
        allowed += [
            f"{_API}.CONSUMER.CREATE.{stream}",
            f"{_API}.CONSUMER.CREATE.{stream}.>",
            f"{_API}.CONSUMER.DELETE.{stream}.>",
            f"$JS.FC.{stream}.>",
        ]
    allowed += list(r.extra_publish)
    return sorted(set(allowed))


def subscribe_allowed(r: Role) -> list[str]:
    """The subjects `r` may subscribe to: its inboxes (JetStream answers, pulled messages,
    watched buckets' deliveries), nothing else (the operator: all)."""
    return [">"] if r.operator else ["_INBOX.>"]


def nats_permissions(r: Role) -> dict[str, object]:
    """nats-server's `permissions` for `r`."""
    return {
        "publish": {"allow": publish_allowed(r)},
        "subscribe": {"allow": subscribe_allowed(r)},
    }


def password_variable(r: Role) -> str:
    """The environment variable holding `r`'s NATS password in the deployment files."""
    return "NATS_" + r.user.upper().replace("-", "_") + "_PASSWORD"


def nats_users(passwords: dict[str, str] | None = None) -> dict[str, object]:
    """nats-server's `authorization` block: one user per role with its permissions. Passwords
    from `passwords` (by user), else each a `$NATS_<USER>_PASSWORD` variable reference."""
    users = []
    for r in ROLES:
        password = passwords[r.user] if passwords is not None else f"${password_variable(r)}"
        users.append({"user": r.user, "password": password, "permissions": nats_permissions(r)})
    return {"users": users}


def users_conf(passwords: dict[str, str] | None = None) -> str:
    """`authorization { … }` in nats-server's configuration syntax (JSON is a subset of it;
    a `$VARIABLE` reference is written bare so the server reads it from its environment)."""
    text = json.dumps(nats_users(passwords), indent=2)
    if passwords is None:
        text = re.sub(r'"(\$NATS_[A-Z_]+_PASSWORD)"', r"\1", text)
    return f"authorization: {text}\n"


GENERATED_HEADER = (
    "# GENERATED from libs/common/src/showcase_common/roles.py (the one declaration of who\n"
    "# publishes what): `uv run python -m showcase_common.roles > deploy/nats/users.conf`.\n"
    "# Each service's NATS user, its password from the environment, and its permissions.\n"
)


def main() -> None:
    print(GENERATED_HEADER + users_conf(), end="")


if __name__ == "__main__":
    main()
