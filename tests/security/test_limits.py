"""The request guard on its own, around small ASGI apps: a read that hangs is answered 503 at
the deadline, a body that trickles in is answered 408, a body over the limit 413 before the
route has read it, and what the route sends after the guard answered is dropped."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator

import anyio
import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from bonemets.config import Settings
from bonemets.faces.web.guard import Limits, RequestGuard

LIMITS = Limits(by_prefix=(("/big", 1_000_000),), default=1000, body_seconds=0.5, read_seconds=0.5)


async def _reply(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body, then sleeps if asked (`/slow`), then answers its length."""
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise RuntimeError("client went away")
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    if scope["path"] == "/slow":
        await anyio.sleep(5)
    if scope["path"] == "/fail":
        raise LookupError("the route failed")
    await _reply(send, 200, str(size).encode())


def _run(main: Callable[[], Awaitable[None]]) -> None:
    """`anyio.run(main)` in a thread of its own: earlier tests in the same process (Playwright's
    sync API) may leave an event loop running in this one."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            anyio.run(main)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def _client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=RequestGuard(echo, LIMITS))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def test_limits_follow_the_settings() -> None:
    limits = Limits.from_settings(Settings(max_body_kb=32, cds_max_body_kb=2048))
    assert limits.body_limit("/api/triage") == 32 * 1024
    assert limits.body_limit("/cds-services/bonemets-order-sign") == 2048 * 1024
    assert limits.body_limit("/login") == 32 * 1024


def test_bodies_within_and_over_the_limit() -> None:
    async def run() -> None:
        async with _client() as client:
            assert (await client.post("/", content=b"x" * 1000)).text == "1000"
            over = await client.post("/", content=b"x" * 1001)
            assert over.status_code == 413 and "limit" in over.json()["detail"]
            assert (await client.post("/big", content=b"x" * 500_000)).text == "500000"

            async def stream() -> Iterator[bytes]:  # type: ignore[misc]
                for _ in range(10):
                    yield b"y" * 300

            streamed = await client.post("/", content=stream())  # type: ignore[arg-type]
            assert streamed.status_code == 413
            bad = await client.post("/", content=b"x", headers={"content-length": "ten"})
            assert bad.status_code == 400

    _run(run)


def test_a_slow_read_is_answered_at_the_deadline() -> None:
    async def run() -> None:
        async with _client() as client:
            started = time.monotonic()
            answer = await client.get("/slow")
            assert answer.status_code == 503
            assert time.monotonic() - started < 3
            assert (await client.get("/")).status_code == 200

    _run(run)


def test_a_trickling_body_is_answered_408() -> None:
    async def run() -> None:
        async with _client() as client:

            async def trickle() -> Iterator[bytes]:  # type: ignore[misc]
                for _ in range(5):
                    yield b"z"
                    await anyio.sleep(0.3)

            answer = await client.post("/", content=trickle())  # type: ignore[arg-type]
            assert answer.status_code == 408

    _run(run)


@pytest.mark.parametrize("path", ["/", "/slow"])
def test_writes_have_no_overall_deadline(path: str) -> None:
    """A POST is not cut short once its body is in (a write answered 503 that then completes
    would tempt a second, duplicate, write)."""

    async def run() -> None:
        guard = RequestGuard(echo, Limits((), 1000, 0.5, 0.1))
        transport = httpx.ASGITransport(app=guard)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            with anyio.fail_after(8):
                answer = await client.post(path, content=b"abc")
            assert answer.status_code == 200 and answer.text == "3"

    _run(run)


def test_a_failing_read_raises_its_own_error() -> None:
    """The deadline's task group does not wrap the route's error (the server's 500 handling
    and tests see the error itself)."""

    async def run() -> None:
        async with _client() as client:
            await client.get("/fail")

    with pytest.raises(LookupError):
        _run(run)
