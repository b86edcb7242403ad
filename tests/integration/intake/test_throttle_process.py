"""From outside, against a real `python -m intake`: 30 wrong passwords for `studio` sent at
once from 127.0.0.2 (the client socket bound there) get ten 401s and twenty 429s — the counter
is not outrun — and further guesses get 429, while `studio` from 127.0.0.1, where it had logged
in before, still gets 200."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.intake import IntakeProcess

STUDIO = ("studio", "studio")


@pytest.fixture
def intake(tmp_path: Path, nats_url: str) -> Iterator[IntakeProcess]:
    process = IntakeProcess(tmp_path / "intake", nats_url)
    try:
        yield process.start()
    finally:
        process.stop()


def client_from(address: str, url: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(transport=transport, base_url=url, timeout=120)


def test_guesses_from_elsewhere_are_throttled_while_the_owner_gets_in(
    intake: IntakeProcess,
) -> None:
    with (
        client_from("127.0.0.1", intake.url) as owner,
        client_from("127.0.0.2", intake.url) as guesser,
    ):
        assert owner.get("/showcases/new", auth=STUDIO).status_code == 200
        owner.cookies.clear()  # the owner's address alone vouches for it

        def guess(n: int) -> int:
            return guesser.get("/showcases/new", auth=("studio", f"wrong-{n}")).status_code

        with ThreadPoolExecutor(max_workers=30) as pool:
            answers = Counter(pool.map(guess, range(30)))

        assert answers == Counter({401: 10, 429: 20})
        again = guesser.get("/showcases/new", auth=("studio", "wrong-again"))
        assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0
        assert guesser.get("/showcases/new", auth=STUDIO).status_code == 429  # even the right one
        assert owner.get("/showcases/new", auth=STUDIO).status_code == 200
