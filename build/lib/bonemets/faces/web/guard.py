"""Request limits, before any route reads a request: body size per route prefix, how long a
client may take to send its body, and how long a read (GET) may take. Plain ASGI, in front of
the whole app (the CDS Hooks service included: it gets its own, larger, body limit).

A body over the limit is answered 413 as soon as it is known (at once from Content-Length, else
when the streamed body passes the limit), without the route seeing the rest; the route is told
the client went away, and whatever it answers then is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bonemets.adapters.storage.repository import AUDIT_CLIENT
from bonemets.config import Settings


@dataclass(frozen=True)
class Limits:
    """Body limits in bytes by path prefix (the longest matching prefix wins)."""

    by_prefix: tuple[tuple[str, int], ...]
    default: int
    body_seconds: float  # to receive a whole body
    read_seconds: float  # for a GET or HEAD to start its answer (0: no limit)

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            by_prefix=(("/cds-services", settings.cds_max_body_kb * 1024),),
            default=settings.max_body_kb * 1024,
            body_seconds=settings.request_timeout_seconds,
            read_seconds=settings.request_timeout_seconds,
        )

    def body_limit(self, path: str) -> int:
        best, limit = -1, self.default
        for prefix, size in self.by_prefix:
            if path.startswith(prefix) and len(prefix) > best:
                best, limit = len(prefix), size
        return limit


def _answer(status: int, detail: str) -> tuple[Message, Message]:
    body = orjson.dumps({"detail": detail})
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class _Exchange:
    """One request: what has been sent, and the guard's own answer when it stepped in."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False
        self.answered = False  # the guard answered; the route's messages are dropped

    async def send(self, message: Message) -> None:
        if self.answered:
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)

    async def refuse(self, status: int, detail: str) -> None:
        if self.started or self.answered:
            return
        self.answered = True
        for message in _answer(status, detail):
            await self._send(message)


class RequestGuard:
    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        token = AUDIT_CLIENT.set(str(client[0]) if client else None)
        try:
            await self._guarded(scope, receive, send)
        finally:
            AUDIT_CLIENT.reset(token)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limits.body_limit(scope["path"])
        exchange = _Exchange(send)
        declared = _content_length(scope)
        if declared == -1:
            await exchange.refuse(400, "Content-Length is not a number")
            return
        if declared is not None and declared > limit:
            await exchange.refuse(413, f"request body too large (limit {limit // 1024} KiB)")
            return
        received = 0
        deadline = anyio.current_time() + self.limits.body_seconds

        async def guarded_receive() -> Message:
            nonlocal received
            if exchange.answered:
                return {"type": "http.disconnect"}
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())) as waited:
                message = await receive()
            if waited.cancelled_caught:
                await exchange.refuse(408, "the request body took too long to arrive")
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    await exchange.refuse(
                        413, f"request body too large (limit {limit // 1024} KiB)"
                    )
                    return {"type": "http.disconnect"}
            return message

        try:
            if scope["method"] in ("GET", "HEAD") and self.limits.read_seconds > 0:
                await self._with_deadline(scope, guarded_receive, exchange)
            else:
                await self.app(scope, guarded_receive, exchange.send)
        except Exception:
            if exchange.answered:
                return  # the route failed on the body the guard cut short: already answered
            raise

    async def _with_deadline(self, scope: Scope, receive: Receive, exchange: _Exchange) -> None:
        """Run the route; if it has not started answering by the deadline, answer 503 for it
        (a route blocked in a worker thread finishes there, its answer dropped)."""
        try:
            async with anyio.create_task_group() as group:

                async def run() -> None:
                    await self.app(scope, receive, exchange.send)
                    group.cancel_scope.cancel()

                group.start_soon(run)
                await anyio.sleep(self.limits.read_seconds)
                if not exchange.started:
                    await exchange.refuse(503, "the request took too long; try again")
                    group.cancel_scope.cancel()
        except BaseExceptionGroup as failed:
            # The route's own error, as it would reach the server without the task group.
            if len(failed.exceptions) == 1:
                raise failed.exceptions[0] from None
            raise


def _content_length(scope: Scope) -> int | None:
    """The declared body length; None when not declared, -1 when not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else -1
    return None
