"""`make compose-test`: the image built from deploy/Dockerfile, docker-compose.yml brought up by
podman-compose (NATS, S3 with its bucket, SMTP sink, the four services, three agents, the
alerter, all from the one image), every /readyz polled, one studio request driven from the host
through the published intake port to `completed` on the WebSocket, then everything torn down.

Skipped, saying why, only where podman cannot run. The timings it measures are printed (and
written to bench/results by bench/compose_stack.py), never asserted.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support.compose import (
    ComposeStack,
    build_image,
    image_size,
    podman_env,
    podman_unavailable,
)
from tests.support.progress import assert_completed_in_order, progress_until_final
from tests.support.stack import STUDIO

pytestmark = [pytest.mark.compose, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def compose_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    why = podman_unavailable()
    if why:
        pytest.skip(why)
    workdir = tmp_path_factory.mktemp("compose")
    build_s = build_image(workdir / "build.log")
    stack = ComposeStack(workdir)
    started = time.monotonic()
    try:
        stack.up()
        stack.wait_ready(timeout_s=300)
        print(
            f"\nimage {image_size() / 1e6:.0f} MB (built in {build_s:.0f}s); "
            f"stack ready {time.monotonic() - started:.1f}s after `up`"
        )
        yield stack
    finally:
        stack.down()
        leftovers = stack.leftovers() + stack.iptables_added()
        assert not leftovers, f"left behind: {leftovers}"


def _submit(stack: ComposeStack) -> dict:
    body = {"name": f"Compose {uuid.uuid4().hex[:8]}", "location_id": 1, "start_date": "2027-05-16"}
    response = httpx.post(
        f"{stack.url('intake')}/api/showcases", json=body, auth=STUDIO, timeout=30
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_studio_request_completes_through_the_compose_stack(compose_stack: ComposeStack) -> None:
    started = time.monotonic()
    created = _submit(compose_stack)
    ws_url = created["progress"]["ws_url"]
    assert ws_url.startswith(f"ws://127.0.0.1:{compose_stack.ports['progress-gateway']}/"), ws_url
    messages = asyncio.run(
        asyncio.wait_for(progress_until_final(ws_url, created["request_id"]), 180)
    )
    print(f"\none request, POST to completed: {time.monotonic() - started:.2f}s")
    assert_completed_in_order(messages)
    page = httpx.get(created["redirect_url"], timeout=10)  # on the published first agent
    assert page.status_code == 200, page.text
    for agent in ("agent-1", "agent-2", "agent-3"):
        status = httpx.get(f"{compose_stack.url(agent)}/showcase/status", timeout=10).json()
        assert status["generation"], (agent, status)


def test_only_intake_the_gateway_and_the_agents_are_published(compose_stack: ComposeStack) -> None:
    out = subprocess.run(
        ["podman", "ps", "--filter", f"label=io.podman.compose.project={compose_stack.project}",
         "--format", "{{.Names}} {{.Ports}}"],
        env=podman_env(), capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    published = {line.split()[0]: line for line in out.splitlines() if "->" in line}
    names = {name.removeprefix(f"{compose_stack.project}_").rsplit("_", 1)[0] for name in published}
    assert names == {"intake", "progress-gateway", "agent-1", "agent-2", "agent-3"}, out
    assert all("0.0.0.0" not in line for line in published.values()), out


def test_the_service_user_cannot_rewrite_the_code(compose_stack: ComposeStack) -> None:
    """The image's code and configuration belong to root: a compromised service cannot change
    what runs next; only its data volume is writable."""
    probe = (
        "import os, intake, machine_agent; "
        "dirs = [os.path.dirname(intake.__file__), os.path.dirname(machine_agent.__file__), "
        "'/app/.venv/bin', '/app/deploy/nats', '/app']; "
        "print(os.getuid(), [d for d in dirs if os.access(d, os.W_OK)], "
        "os.access('/data/index', os.W_OK))"
    )
    out = subprocess.run(
        ["podman", "exec", compose_stack.container("intake"), "python", "-c", probe],
        env=podman_env(), capture_output=True, text=True, check=True,
    ).stdout.split(maxsplit=1)  # fmt: skip
    assert out[0] != "0", "the service runs as root"
    assert out[1].strip() == "[] True", out
