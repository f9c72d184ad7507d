"""Latency of the CDS Hooks patient-view service over loopback HTTP, under an open-loop load.

    .venv/bin/python bench/cds_hooks.py [--rate 25] [--clients 50] [--duration 40] [--workers 2]

What it runs. A small app holding the CDS router and a no-card baseline endpoint (POST of the same
body, JSON-parsed, answered `{"cards": []}`) under uvicorn (2 workers by default; the listening
socket is made as TCP so that every connection gets TCP_NODELAY, see `serve`) on a free 127.0.0.1
port, in a child process. This process is the client: 50 simulated clinicians, each with its own
keep-alive HTTP/1.1 connection, written on raw asyncio streams (a request is one write of prepared
bytes, a response is read by Content-Length): far cheaper than an httpx client, so the client
takes little of the CPU it shares with the server. Each request is a patient-view with full
prefetch (a patient with grade 3 hypercalcaemia and an overdue zoledronic acid dose: 14
resources, 7 cards), for one of 997 patients in turn, so nothing is answered from a cache keyed
by patient.

Why open loop. A closed loop (each client sends its next request when the last one returns) with
no think time measures throughput: by Little's law its mean latency is clients / throughput
whatever the service does, and it hides the waits it causes (coordinated omission). Here each
clinician opens charts on a schedule fixed in advance: Poisson arrivals (independent clinicians),
seeded, at the declared rate. Latency runs from the *scheduled* send time to the last byte of
the answer, so a request that could not even be sent on time because the previous one was slow is
charged its whole wait (as wrk2 does). The client's own lag (sent minus scheduled) is reported
too, to tell a slow client from a slow server.

The offered rate: 25 requests/s in all, each of the 50 clinicians opening a chart every 2 s on
average, without pause. Real use is far lighter. Our assumption (not measured here): a busy
clinician opens a chart at most about once a minute at peak (clinic plus results review), and
every chart open fires patient-view once, so 50 clinicians offer about 0.8 requests/s. 25/s is
about 30 times that peak (as if the whole team flipped through its worklist at once, without
stopping): chosen to stress the service, not to flatter it, and still under saturation, so the
figure is a latency and not a queue growing without bound. At 25/s the default 40 s per endpoint
gives 1,000 samples, so the p99 rests on the 10 slowest. `--rate` offers any other rate (the
saturation line below says how close to the limit it is).

First, the cost of a call in process: the ASGI app called directly, CPU time per call.

Nothing hidden. The same schedule is offered to the baseline endpoint, interleaved in halves
(patient-view, baseline, patient-view, baseline) so drift on a noisy machine hits both; ratios to
the baseline are printed because they travel better than absolute times. Then the saturation
throughput: the old closed loop (50 clients back to back) for a few seconds per endpoint, with its
throughput-bound latencies labelled as such. And the CPU the server processes spent per request
(from /proc, less what the server burns idle), the steadiest figure on a shared machine.

Bounded: loopback only, fixed durations, the server stopped at the end. Exit status 0 when the
target is met: patient-view p99 under 50 ms at the declared rate.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.util
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

ROOT = Path(__file__).resolve().parent.parent
PV_PATH = "/cds-services/bonemets-patient-view"
BASELINE_PATH = "/bench/baseline"
TARGET_P99_MS = 50.0
TIMEOUT_S = 30.0
IDLE_S = 5.0  # how long the server's idle CPU is measured
Json = dict[str, Any]


# --- The app under test (imported by the child process) -------------------------------------------


def make_app() -> FastAPI:
    from bonemets.faces.cds import router

    app = FastAPI()
    app.include_router(router)

    @app.post(BASELINE_PATH)
    async def baseline(request: Request) -> Response:
        orjson.loads(await request.body())
        return Response(orjson.dumps({"cards": []}), media_type="application/json")

    return app


# --- The request ----------------------------------------------------------------------------------


def _day(days_ago: int) -> str:
    return (dt.date.today() - dt.timedelta(days=days_ago)).isoformat()


def _obs(pid: str, oid: str, loinc: str, value: float, unit: str, days_ago: int) -> Json:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": _day(days_ago),
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def _dose(pid: str, aid: str, days_ago: int) -> Json:
    return {
        "resourceType": "MedicationAdministration",
        "id": aid,
        "status": "completed",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "77655"}]
        },
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": _day(days_ago),
        "dosage": {
            "route": {"coding": [{"system": "http://snomed.info/sct", "code": "47625008"}]},
            "dose": {"value": 4, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"},
        },
    }


def request_body(pid: str = "bench-1") -> Json:
    """A patient-view request with full prefetch for patient `pid` (the same clinical story)."""
    snomed = "http://snomed.info/sct"
    resources: list[Json] = [
        {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1950-03-15"},
        {
            "resourceType": "Condition",
            "id": "mets",
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
            "code": {"coding": [{"system": snomed, "code": "94222008"}]},
            "subject": {"reference": f"Patient/{pid}"},
            "onsetDateTime": _day(700),
        },
        _obs(pid, "cr-0", "2160-0", 0.9, "mg/dL", 690),
        _obs(pid, "cr-1", "2160-0", 0.95, "mg/dL", 3),
        _obs(pid, "ca-1", "29265-6", 3.2, "mmol/L", 3),
        _obs(pid, "alb-1", "1751-7", 38, "g/L", 3),
        _obs(pid, "wt-1", "29463-7", 70, "kg", 20),
        *(_dose(pid, f"zol-{i}", days) for i, days in enumerate((686, 658, 630, 140, 112, 84))),
        {
            "resourceType": "Procedure",
            "id": "dent-1",
            "status": "completed",
            "code": {"coding": [{"system": snomed, "code": "34043003"}]},
            "subject": {"reference": f"Patient/{pid}"},
            "performedDateTime": _day(700),
        },
    ]

    def search(kind: str) -> Json:
        found = [r for r in resources if r["resourceType"] == kind]
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": r} for r in found],
        }

    return {
        "hook": "patient-view",
        "hookInstance": "2f5b8f4e-4d1b-4f7e-9d55-2a4c1c3b9e10",
        "context": {"userId": "Practitioner/bench", "patientId": pid},
        "prefetch": {
            "patient": resources[0],
            "conditions": search("Condition"),
            "observations": search("Observation"),
            "administrations": search("MedicationAdministration"),
            "requests": search("MedicationRequest"),
            "procedures": search("Procedure"),
            "statements": search("MedicationStatement"),
            "symptoms": search("QuestionnaireResponse"),
            "imaging": search("ImagingStudy"),
            "reports": search("DiagnosticReport"),
        },
    }


# --- The server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def http_implementation() -> str:
    """What uvicorn's `--http auto` picks: httptools when installed, else the pure-Python h11."""
    if importlib.util.find_spec("httptools") is None:
        return "h11 (httptools not installed)"
    return "httptools"


def serve(port: int, workers: int, socket_kind: str) -> None:
    """Run the app under uvicorn (the child process), as `uvicorn --workers N` does.

    uvicorn's own multi-worker socket is made with `socket.socket(family)`, whose protocol number
    is 0, and asyncio sets TCP_NODELAY only on connections of a socket that says IPPROTO_TCP: so
    with `--workers 2` Nagle's algorithm is left on, and an answer written in two parts (h11
    writes the head, then the body) waits for the client's delayed ACK, ~40 ms, on about 2% of
    calls. `socket_kind` "tcp" (the default) makes the listening socket with IPPROTO_TCP, as
    uvicorn does itself for one worker; "uvicorn" keeps uvicorn's socket, to show the stall.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "bench.cds_hooks:make_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        # An EHR keeps its connections to a CDS service open between chart openings; the default
        # 5 s would close them between two Poisson arrivals of one clinician.
        timeout_keep_alive=300,
    )
    if socket_kind == "tcp":
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
    else:
        sock = config.bind_socket()
    if workers == 1:
        uvicorn.Server(config).run(sockets=[sock])
    else:
        Multiprocess(config, sockets=[sock]).run()


def start_server(port: int, workers: int, socket_kind: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.pop("BONEMETS_CDS_FHIR_SERVERS", None)  # prefetch only: the service calls no server
    env["BONEMETS_CDS_JWT_REQUIRED"] = "0"  # the bench measures the cards, not the JWT
    env.pop("BONEMETS_CDS_PUBLIC_URL", None)
    command = [sys.executable, "-m", "bench.cds_hooks", "--serve", str(port)]
    command += ["--workers", str(workers), "--socket", socket_kind]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) of process `root` and its descendants (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(b")") + 2 :].split()  # after "pid (comm) "
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid and p not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(cpu.get(p, 0.0) for p in tree)


# --- A cheap HTTP/1.1 client ----------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection; requests are prepared bytes, answers read by length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def http_request(port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class BenchError(Exception):
    """A wrong answer or a server that will not start: the run stops (and stops the server)."""


def check(path: str, status: int, answer: bytes) -> None:
    # Every answer is checked, cheaply: the bench patient's critical card must be there.
    if status != 200:
        raise BenchError(f"{path}: HTTP {status}: {answer[:300]!r}")
    if path == PV_PATH and b'"critical"' not in answer:
        raise BenchError(f"{path}: the critical card is missing: {answer[:300]!r}")


# --- Load -----------------------------------------------------------------------------------------


@dataclass
class Run:
    """What one phase measured."""

    latencies: list[float] = field(default_factory=list)  # s, from scheduled (open) or sent time
    lags: list[float] = field(default_factory=list)  # s, sent minus scheduled (open loop)
    wall_s: float = 0.0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    def server_ms(self, idle_cpu: float) -> float:
        """Server CPU ms per request, less what the server burns idle (its timers) meanwhile."""
        return max(0.0, self.server_cpu_s - idle_cpu * self.wall_s) / len(self.latencies) * 1e3

    def add(self, other: Run) -> None:
        self.latencies += other.latencies
        self.lags += other.lags
        self.wall_s += other.wall_s
        self.server_cpu_s += other.server_cpu_s
        self.client_cpu_s += other.client_cpu_s


async def open_loop(
    port: int,
    server_pid: int,
    path: str,
    bodies: list[bytes],
    *,
    rate: float,
    clients: int,
    seconds: float,
    seed: int,
) -> Run:
    """Each client opens charts at Poisson times (rate / clients per second each) for `seconds`;
    every request scheduled in that window is sent and waited for."""
    conns = [await Connection.open(port) for _ in range(clients)]
    requests = [http_request(port, path, b) for b in bodies]
    run = Run()
    loop = asyncio.get_running_loop()
    per_client = rate / clients
    counter = iter(range(10**12))

    async def clinician(conn: Connection, rng: random.Random, start: float, end: float) -> None:
        due = start + rng.expovariate(per_client)
        while due < end:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = loop.time()
            async with asyncio.timeout(TIMEOUT_S):
                status, answer = await conn.exchange(requests[next(counter) % len(requests)])
            run.latencies.append(loop.time() - due)
            run.lags.append(sent - due)
            check(path, status, answer)
            due += rng.expovariate(per_client)

    start = loop.time() + 0.05
    return await _measured(
        run,
        server_pid,
        conns,
        (
            clinician(conn, random.Random(seed * 1000 + i), start, start + seconds)
            for i, conn in enumerate(conns)
        ),
    )


async def closed_loop(
    port: int, server_pid: int, path: str, bodies: list[bytes], *, clients: int, seconds: float
) -> Run:
    """Saturation: every client sends its next request as soon as the last one is answered."""
    conns = [await Connection.open(port) for _ in range(clients)]
    requests = [http_request(port, path, b) for b in bodies]
    run = Run()
    counter = iter(range(10**12))
    end = time.perf_counter() + seconds

    async def client(conn: Connection) -> None:
        while time.perf_counter() < end:
            sent = time.perf_counter()
            async with asyncio.timeout(TIMEOUT_S):
                status, answer = await conn.exchange(requests[next(counter) % len(requests)])
            run.latencies.append(time.perf_counter() - sent)
            check(path, status, answer)

    return await _measured(run, server_pid, conns, (client(conn) for conn in conns))


async def _measured(
    run: Run,
    server_pid: int,
    conns: list[Connection],
    clients: Iterable[Coroutine[Any, Any, None]],
) -> Run:
    """Run the clients together, recording wall time and the CPU of both sides; then hang up."""
    cpu0, client0, wall0 = tree_cpu_s(server_pid), time.process_time(), time.perf_counter()
    await asyncio.gather(*clients)
    run.wall_s = time.perf_counter() - wall0
    run.client_cpu_s = time.process_time() - client0
    run.server_cpu_s = tree_cpu_s(server_pid) - cpu0
    for conn in conns:
        await conn.close()
    return run


async def wait_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"the server exited with {proc.returncode}")
        try:
            conn = await Connection.open(port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        conn.writer.write(b"GET /cds-services HTTP/1.1\r\nHost: bench\r\n\r\n")
        head = await conn.reader.readuntil(b"\r\n\r\n")
        await conn.close()
        if head.startswith(b"HTTP/1.1 200"):
            return
    raise BenchError("the server did not start in 30 s")


# --- In process ----------------------------------------------------------------------------------


async def asgi_post(app: FastAPI, path: str, body: bytes) -> int:
    """One POST straight into the ASGI app, no HTTP: the status."""
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    return status


async def in_process(bodies: list[bytes], calls: int = 200, repeats: int = 5) -> dict[str, float]:
    """CPU s per call of each endpoint through the ASGI app in this process (best of `repeats`):
    the service's own cost, without HTTP, sockets or the other process."""
    app = make_app()
    out: dict[str, float] = {}
    for path in (PV_PATH, BASELINE_PATH):
        best = float("inf")
        for _ in range(repeats + 1):  # the first round warms up
            start = time.process_time()
            for i in range(calls):
                if await asgi_post(app, path, bodies[i % len(bodies)]) != 200:
                    raise BenchError(f"{path}: not 200 in process")
            best = min(best, (time.process_time() - start) / calls)
        out[path] = best
    return out


# --- Report ---------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))]


def row(name: str, run: Run, idle_cpu: float) -> str:
    lat, n = run.latencies, len(run.latencies)
    return (
        f"{name:<14}{n:>7}{n / run.wall_s:>8.1f}{pct(lat, 0.5) * 1e3:>9.2f}"
        f"{pct(lat, 0.99) * 1e3:>9.2f}{pct(lat, 0.999) * 1e3:>9.2f}{max(lat) * 1e3:>9.2f}"
        f"{run.server_ms(idle_cpu):>10.2f}{run.client_cpu_s / n * 1e3:>10.2f}"
    )


HEADER = (
    f"{'endpoint':<14}{'n':>7}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'p99.9 ms':>9}{'max ms':>9}"
    f"{'srv cpu':>10}{'cli cpu':>10}"
)


async def run(args: argparse.Namespace) -> int:
    bodies = [orjson.dumps(request_body(f"bench-{i}")) for i in range(args.patients)]
    cost = await in_process(bodies)
    print(
        f"in process (ASGI, no HTTP), CPU per call: patient-view {cost[PV_PATH] * 1e6:.0f} us, "
        f"baseline {cost[BASELINE_PATH] * 1e6:.0f} us ({cost[PV_PATH] / cost[BASELINE_PATH]:.1f}x)"
    )
    port = free_port()
    proc = start_server(port, args.workers, args.socket)
    endpoints = (("patient-view", PV_PATH), ("baseline", BASELINE_PATH))
    opened: dict[str, Run] = {name: Run() for name, _ in endpoints}
    saturated: dict[str, Run] = {}
    try:
        await wait_up(port, proc)
        conn = await Connection.open(port)
        status, answer = await conn.exchange(http_request(port, PV_PATH, bodies[0]))
        await conn.close()
        check(PV_PATH, status, answer)
        cards = orjson.loads(answer)["cards"]
        print(
            f"patient-view answer: {len(cards)} cards {[c['indicator'] for c in cards]}; "
            f"request {len(bodies[0])} bytes, answer {len(answer)} bytes"
        )
        load = {"rate": args.rate, "clients": args.clients}
        for _, path in endpoints:  # warm-up, not counted
            await open_loop(port, proc.pid, path, bodies, **load, seconds=args.warmup, seed=0)
        cpu0 = tree_cpu_s(proc.pid)
        await asyncio.sleep(IDLE_S)
        idle_cpu = (tree_cpu_s(proc.pid) - cpu0) / IDLE_S  # CPU s per s with nothing to do
        # Interleaved halves: drift on a noisy machine hits both endpoints alike.
        for half in (1, 2):
            for name, path in endpoints:
                part = await open_loop(
                    port, proc.pid, path, bodies, **load, seconds=args.duration / 2, seed=half
                )
                opened[name].add(part)
        for name, path in endpoints:
            saturated[name] = await closed_loop(
                port, proc.pid, path, bodies, clients=args.clients, seconds=args.saturation
            )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    print(
        f"\nloopback, {os.cpu_count()} CPUs shared by client and server; uvicorn {args.workers} "
        f"worker(s), HTTP {http_implementation()}; {args.clients} clients, each on one keep-alive "
        f"connection; {args.patients} patients in turn"
    )
    print(
        f"\nOpen loop at {args.rate:g} requests/s offered (Poisson, each client every "
        f"{args.clients / args.rate:.1f} s on average), {args.duration:g} s per endpoint; latency "
        "from the scheduled send time"
    )
    print(
        f"cpu: ms of CPU per request, of the server processes (less their idle "
        f"{idle_cpu * 1e3:.0f} ms/s) and of this client"
    )
    print(HEADER)
    for name, _ in endpoints:
        print(row(name, opened[name], idle_cpu))
    pv, bl = opened["patient-view"], opened["baseline"]
    cpu_ratio = pv.server_ms(idle_cpu) / bl.server_ms(idle_cpu) if bl.server_ms(idle_cpu) else None
    print(
        f"ratio patient-view / baseline: p50 {pct(pv.latencies, 0.5) / pct(bl.latencies, 0.5):.2f}x"
        f", p99 {pct(pv.latencies, 0.99) / pct(bl.latencies, 0.99):.2f}x, server CPU per request "
        + (f"{cpu_ratio:.2f}x" if cpu_ratio is not None else "n/a")
    )
    lags = pv.lags + bl.lags
    print(
        f"client lag (sent minus scheduled): p50 {pct(lags, 0.5) * 1e3:.2f} ms, p99 "
        f"{pct(lags, 0.99) * 1e3:.2f} ms (a late send is charged to the latency above)"
    )
    print(
        f"\nSaturation (closed loop: {args.clients} clients back to back, {args.saturation:g} s "
        "each): throughput, and latencies that only restate clients / throughput"
    )
    print(HEADER)
    for name, _ in endpoints:
        print(row(name, saturated[name], idle_cpu))
    sp, sb = saturated["patient-view"], saturated["baseline"]
    ratio = (len(sp.latencies) / sp.wall_s) / (len(sb.latencies) / sb.wall_s)
    print(f"ratio patient-view / baseline throughput: {ratio:.2f}x")
    offered = args.rate / (len(sp.latencies) / sp.wall_s)
    print(f"offered rate / patient-view saturation: {offered:.0%}")

    p99 = pct(pv.latencies, 0.99) * 1e3
    ok = p99 < TARGET_P99_MS
    print(
        f"\ntarget patient-view p99 < {TARGET_P99_MS:g} ms at {args.rate:g} requests/s: "
        f"{'met' if ok else 'NOT met'} ({p99:.1f} ms)"
    )
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=25.0, help="requests/s offered in all")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clinicians")
    parser.add_argument("--duration", type=float, default=40.0, help="open-loop s per endpoint")
    parser.add_argument("--warmup", type=float, default=3.0, help="s per endpoint, not counted")
    parser.add_argument("--saturation", type=float, default=5.0, help="closed-loop s per endpoint")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--patients", type=int, default=997, help="distinct patients")
    parser.add_argument(
        "--socket",
        choices=("tcp", "uvicorn"),
        default="tcp",
        help="listening socket: tcp (TCP_NODELAY on every connection) or uvicorn's own (see serve)",
    )
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:  # the child process
        serve(args.serve, max(1, min(args.workers, 8)), args.socket)
        return
    # Bounded whatever is asked.
    args.rate = max(0.1, min(args.rate, 2000.0))
    args.clients = max(1, min(args.clients, 200))
    args.duration = max(2.0, min(args.duration, 600.0))
    args.warmup = max(0.0, min(args.warmup, 60.0))
    args.saturation = max(1.0, min(args.saturation, 60.0))
    args.workers = max(1, min(args.workers, 8))
    args.patients = max(1, min(args.patients, 10_000))
    try:
        raise SystemExit(asyncio.run(run(args)))
    except BenchError as exc:
        raise SystemExit(f"bench failed: {exc}") from None


if __name__ == "__main__":
    main()
