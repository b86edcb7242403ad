"""Per-service NATS users on a real nats-server, their permissions derived from the one
declaration (`showcase_common.roles`): each may publish the events it emits and cannot publish
another service's; it can declare the stream and its durables and buckets as the services do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from devstack.servers import NatsServer
from nats.aio.client import Client
from nats.js.errors import NoStreamResponseError
from showcase_common import subjects
from showcase_common.bus.streams import ensure_consumer, ensure_kv, ensure_stream
from showcase_common.roles import GENERATED_HEADER, ROLES, publishers_of, role, users_conf

PASSWORDS = {r.user: f"{r.user}-password-0123456789" for r in ROLES}
EVENTS = sorted({s for r in ROLES for s in r.publishes})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    work = tmp_path_factory.mktemp("nats-auth")
    conf = work / "auth.conf"
    conf.write_text(users_conf(PASSWORDS))
    nats_server = NatsServer(work / "store", config=conf)
    nats_server.start()
    try:
        yield nats_server
    finally:
        nats_server.stop()


class Connected:
    def __init__(self, nc: Client, errors: asyncio.Queue[str]) -> None:
        self.nc, self.errors, self.js = nc, errors, nc.jetstream(timeout=2)

    async def denied(self, subject: str) -> str:
        """Publish to `subject` and return the server's refusal (awaited, not slept for)."""
        with pytest.raises((TimeoutError, NoStreamResponseError, nats.errors.NoRespondersError)):
            await self.js.publish(subject, b"{}")
        return await asyncio.wait_for(self.errors.get(), 10)


async def _connect(server: NatsServer, user: str, password: str) -> Connected:
    errors: asyncio.Queue[str] = asyncio.Queue()

    async def on_error(exc: Exception) -> None:
        await errors.put(str(exc))

    url = server.url.replace("nats://", f"nats://{user}:{password}@")
    nc = await nats.connect(url, error_cb=on_error, max_reconnect_attempts=1)
    return Connected(nc, errors)


@pytest.fixture
async def as_role(server: NatsServer) -> AsyncIterator[object]:
    opened: list[Client] = []

    async def connect(user: str) -> Connected:
        connected = await _connect(server, user, PASSWORDS[user])
        opened.append(connected.nc)
        await ensure_stream(connected.js)  # every service declares the stream first
        return connected

    yield connect
    for nc in opened:
        await nc.close()


@pytest.mark.parametrize("user", [r.user for r in ROLES if not r.operator])
async def test_a_service_publishes_its_own_events_and_not_anothers(user: str, as_role) -> None:
    me = await as_role(user)
    r = role(user)
    for subject in r.publishes:
        ack = await me.js.publish(subject, b"{}")
        assert ack.stream == subjects.STREAM
    for subject in EVENTS:
        if subject in r.publishes:
            continue
        refusal = await me.denied(subject)
        assert "permissions violation for publish" in refusal.lower(), refusal
        assert f'"{subject}"' in refusal, refusal


async def test_services_declare_their_durables_pull_ack_and_use_their_buckets(as_role) -> None:
    operator = await as_role("showcasectl")
    await operator.js.publish(subjects.SHOWCASE_CREATED, b"{}")  # one message for each durable
    for r in ROLES:
        if r.operator:
            continue
        me = await as_role(r.user)
        for durable in r.durables:
            await ensure_consumer(me.js, durable, [subjects.ALL_SUBJECTS])
            sub = await me.js.pull_subscribe_bind(durable, subjects.STREAM)
            pulled = await sub.fetch(1, timeout=5)  # a refused pull would time out instead
            await pulled[0].ack_sync()  # and the ack is answered
        for bucket in r.buckets:
            kv = await ensure_kv(me.js, bucket)
            await kv.put("k", b"v")
            assert (await kv.get("k")).value == b"v"


async def test_another_services_durable_cannot_be_pulled(as_role) -> None:
    syncer = await as_role("syncer")
    await ensure_consumer(syncer.js, subjects.SYNCER_DURABLE, [subjects.SHOWCASE_CREATED])
    intake = await as_role("intake")
    refusal = await intake.denied(f"$JS.API.CONSUMER.MSG.NEXT.{subjects.STREAM}.syncer")
    assert "permissions violation" in refusal.lower()


async def test_the_operator_may_do_anything_and_a_wrong_password_gets_nothing(
    server: NatsServer,
    as_role,
) -> None:
    operator = await as_role("showcasectl")
    for subject in EVENTS:
        await operator.js.publish(subject, b"{}")
    with pytest.raises(Exception, match=r"(?i)authorization"):
        await nats.connect(
            server.url.replace("nats://", "nats://syncer:wrong@"),
            max_reconnect_attempts=0,
            allow_reconnect=False,
        )


def test_each_event_has_exactly_the_declared_publishers() -> None:
    # the one declaration is the table of docs/ARCHITECTURE.md (the operator aside)
    assert publishers_of(subjects.SHOWCASE_CREATED) == ["intake"]
    assert publishers_of(subjects.INDEX_SYNCED) == ["syncer"]
    assert publishers_of(subjects.RETRY_REQUESTED) == ["intake", "machine-updater"]
    assert publishers_of(subjects.FLEET_UPDATED) == ["machine-updater"]
    assert publishers_of(subjects.ROLLOUT_REQUESTED) == []  # showcasectl only


def test_the_deployed_users_file_is_generated_from_the_declaration() -> None:
    committed = (Path(__file__).resolve().parents[3] / "deploy" / "nats" / "users.conf").read_text()
    assert committed == GENERATED_HEADER + users_conf(), (
        "deploy/nats/users.conf is stale: uv run python -m showcase_common.roles > "
        "deploy/nats/users.conf"
    )


async def test_the_alerters_stuck_watch_does_all_it_needs_as_its_own_user(as_role) -> None:
    """Under the `alerts` user: the watch's bucket (entries listed by a watch), its durable's
    backlog, the operators' pause read (never written), and its one event published."""
    import datetime as dt

    from showcase_common import events
    from showcase_common.bus import Publisher
    from showcase_common.fleet_control import KvFleetControl, PauseState
    from showcasectl.stuck import KvWatchBook, Watched

    operator = await as_role("showcasectl")
    await KvFleetControl(operator.js).pause(PauseState(paused_by="ops"))
    await KvFleetControl(operator.js).resume()
    me = await as_role("alerts")
    kv = await ensure_kv(me.js, subjects.STUCK_WATCH_BUCKET)
    await ensure_consumer(me.js, subjects.STUCK_WATCH_DURABLE, [subjects.SHOWCASE_CREATED])
    book = KvWatchBook(lambda: kv, lambda: me.js)
    ref = events.RequestRef(
        request_id="r1",
        user="studio",
        showcase=events.ShowcaseRef(showcase_id=1, year=2027, location_key="b", key="k", name="N"),
        redirect_url="http://fleet/",
    )
    entry = Watched(request=ref, step="syncing", last_progress_at=dt.datetime.now(dt.UTC), seq=1)
    await book.write(entry, None)
    assert await book.entries() == [entry]
    assert await book.backlog() >= 0
    control = KvFleetControl(me.js)
    assert await control.pause_state() is None and await control.pin_hold() is None
    assert await control.lifted_at() is not None
    stuck = events.RequestStuck(
        requests=[ref], step="syncing", last_progress_at=entry.last_progress_at, stuck_after_s=1
    )
    assert (await Publisher(me.js).publish(stuck)).stream == subjects.STREAM
    refusal = await me.denied(f"$KV.{subjects.FLEET_CONTROL_BUCKET}.pause")  # read only
    assert "permissions violation" in refusal.lower()
