"""The CDS Hooks benchmark's own arithmetic (bench/cds_hooks.py): percentiles, and the open loop
charging a stalled server's wait to every request scheduled during it (no coordinated omission),
where a closed loop sees one slow request. Against a tiny asyncio HTTP server in this process."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

import orjson
from bench.cds_hooks import BASELINE_PATH, closed_loop, open_loop, pct, request_body

STALL_S = 0.4


async def _stalling_server(stall_on: int) -> tuple[asyncio.Server, int]:
    """Answers `{"cards": []}` at once, except request number `stall_on`, held STALL_S seconds."""
    count = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
            count += 1
            if count == stall_on:
                await asyncio.sleep(STALL_S)
            answer = b'{"cards":[]}'
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer))
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert pct(values, 0.5) == 50.0
    assert pct(values, 0.99) == 99.0
    assert pct(values, 1.0) == 100.0
    assert pct([7.0], 0.99) == 7.0


def test_the_open_loop_charges_a_stall_to_every_request_scheduled_in_it() -> None:
    body = [orjson.dumps(request_body())]

    async def measure() -> tuple[list[float], list[float], list[float]]:
        server, port = await _stalling_server(stall_on=5)
        async with server:
            opened = await open_loop(
                port, os.getpid(), BASELINE_PATH, body, rate=40, clients=1, seconds=1.5, seed=3
            )
        server, port = await _stalling_server(stall_on=5)
        async with server:
            closed = await closed_loop(
                port, os.getpid(), BASELINE_PATH, body, clients=1, seconds=1.0
            )
        return opened.latencies, opened.lags, closed.latencies

    # In a thread of its own: another test in this worker may have left an event loop running
    # in the main thread (Playwright's sync API does), and asyncio.run refuses to nest.
    with ThreadPoolExecutor(1) as pool:
        opened, lags, closed = pool.submit(lambda: asyncio.run(measure())).result()
    # One clinician opening a chart every 25 ms on average: about 16 charts are due during the
    # 400 ms stall, and each waits for it, from its scheduled time.
    assert len(opened) > 30
    assert max(opened) >= STALL_S
    slow = [lat for lat in opened if lat > STALL_S / 4]
    assert len(slow) >= 4
    assert sum(lag > STALL_S / 4 for lag in lags) >= 3  # they were sent late, and it counts
    # The closed loop times each request from its own send: the stall is one slow request.
    assert max(closed) >= STALL_S
    assert sum(lat > STALL_S / 4 for lat in closed) == 1
