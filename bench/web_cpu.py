"""Server CPU per request of the web app, in process, for the load script's mix.

    .venv/bin/python bench/web_cpu.py [--requests 4000] [--postgres ADMIN_URL]

`bench/web_load.py` measures what the whole machine sustains (server, database and locust on the
same two cores), which is noisy when other work shares the machine. This benchmark measures the
server's own part: the app is driven through its ASGI interface (no sockets, no HTTP parsing, no
load generator), one request at a time, and the process CPU time (all threads: the event loop and
the threadpool the sync endpoints run in) of each request is recorded. The baseline is the load
script's baseline, GET of a small static file, measured in the same process and run, so the ratio
travels between machines better than milliseconds do.

The mix is the load script's: clinicians GET the worklist, an assessment, the alerts and a record
of a random patient of the cohort (equal shares, as locust picks tasks), and 1 in 5 requests is a
patient POSTing a symptom report (with the session's CSRF token) from one of the load script's
patient logins, so records grow and cached reads are invalidated as under load. Every answer must
have the expected status; a wrong one fails the run.

What it leaves out: uvicorn's HTTP parsing (the same for every request, and in the baseline too
under load) and, on PostgreSQL, the database server's CPU (another process; the wall time per
request, also reported, includes the waits for it).

Capacity: at C ms of CPU per request one core serves 1000/C requests/s. The load target (200
req/s on 2 cores shared with locust and the database) needs roughly 4 ms or less.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.web_load import (
    ALERTS,
    ASSESSMENT,
    BASELINE,
    BASELINE_PATH,
    MIXED,
    RECORD,
    REPORTS,
    SUBMIT,
    WORKLIST,
    Login,
    build,
    scratch_database,
    split_users,
)

RESULTS = Path(__file__).resolve().parent / "results"
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def cookies(self) -> dict[str, str]:
        out = {}
        for key, value in self.headers:
            if key.lower() == b"set-cookie":
                name, _, rest = value.decode().partition("=")
                out[name] = rest.split(";", 1)[0]
        return out


async def call(
    app: Asgi,
    method: str,
    path: str,
    *,
    cookie: str = "",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request through the app's ASGI interface, as uvicorn would send it."""
    path, _, query = path.partition("?")
    raw_headers = [(b"host", b"127.0.0.1"), (b"user-agent", b"bench")]
    if cookie:
        raw_headers.append((b"cookie", cookie.encode()))
    if body:
        raw_headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
    for key, value in (headers or {}).items():
        raw_headers.append((key.lower().encode(), value.encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # a disconnect never comes
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    answer = Answer(0, [], b"")
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    answer.body = b"".join(chunks)
    return answer


@dataclass
class Step:
    name: str
    method: str
    path: str
    cookie: str
    expect: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


async def sign_in(app: Asgi, login: Login) -> tuple[str, str]:
    body = json.dumps({"username": login.username, "password": login.password}).encode()
    answer = await call(app, "POST", "/api/session", body=body)
    if answer.status != 200:
        raise RuntimeError(f"sign in as {login.username}: {answer.status} {answer.body[:200]!r}")
    cookie = "; ".join(f"{k}={v}" for k, v in answer.cookies().items())
    token: str = json.loads(answer.body)["csrf_token"]
    return cookie, token


def plan_steps(
    count: int,
    rng: random.Random,
    clinician_cookie: str,
    patients: list[tuple[Login, str, str]],
    patient_ids: list[str],
    write_share: float,
) -> list[Step]:
    """The load script's mix: reads of random patients by the clinician, submissions by the
    patient logins."""
    steps = []
    for _ in range(count):
        if rng.random() < write_share:
            login, cookie, csrf = rng.choice(patients)
            report = json.dumps(rng.choice(REPORTS)).encode()
            path = f"/api/patients/{login.patient_id}/reports"
            steps.append(Step(SUBMIT, "POST", path, cookie, 201, report, {"X-CSRF-Token": csrf}))
            continue
        name = rng.choice([WORKLIST, ASSESSMENT, ALERTS, RECORD])
        pid = rng.choice(patient_ids)
        path = {
            WORKLIST: "/api/worklist",
            ASSESSMENT: f"/api/patients/{pid}/assessment",
            ALERTS: f"/api/patients/{pid}/alerts",
            RECORD: f"/api/patients/{pid}/record",
        }[name]
        steps.append(Step(name, "GET", path, clinician_cookie, 200))
    return steps


Samples = dict[str, list[float]]


async def measure(app: Asgi, steps: list[Step]) -> tuple[Samples, Samples]:
    """CPU and wall milliseconds of each step, by name. Raises on an unexpected status."""
    cpu: Samples = {}
    wall: Samples = {}
    for step in steps:
        c0, w0 = time.process_time(), time.perf_counter()
        answer = await call(
            app, step.method, step.path, cookie=step.cookie, body=step.body, headers=step.headers
        )
        c1, w1 = time.process_time(), time.perf_counter()
        if answer.status != step.expect:
            raise RuntimeError(
                f"{step.method} {step.path}: {answer.status} (expected {step.expect}) "
                f"{answer.body[:300]!r}"
            )
        cpu.setdefault(step.name, []).append((c1 - c0) * 1000)
        wall.setdefault(step.name, []).append((w1 - w0) * 1000)
    return cpu, wall


def figures(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "mean_ms": statistics.fmean(values),
        "median_ms": statistics.median(values),
        "p90_ms": sorted(values)[int(0.9 * (len(values) - 1))],
    }


@dataclass
class Options:
    requests: int = 4000
    warmup: int = 300
    baseline: int = 2000
    patients: int = 50
    rate: float = 200.0  # only to size the patient logins as the load script does
    write_share: float = 0.2
    seed: int = 7
    postgres: str | None = None
    results: Path | None = RESULTS


async def _run(url: str, options: Options, logins: list[Login], clinician: Login,
               patient_ids: list[str]) -> dict[str, Any]:  # fmt: skip
    from bonemets.config import Settings
    from bonemets.faces.web.app import create_app

    settings = Settings(database_url=url, secure_cookies=False, secret_key=secrets.token_urlsafe())
    app: Asgi = create_app(settings)
    rng = random.Random(options.seed)
    clinician_cookie, _ = await sign_in(app, clinician)
    patients = [(login, *await sign_in(app, login)) for login in logins]
    steps = plan_steps(
        options.warmup + options.requests,
        rng,
        clinician_cookie,
        patients,
        patient_ids,
        options.write_share,
    )
    base_steps = [Step(BASELINE, "GET", BASELINE_PATH, "", 200)] * (options.baseline + 100)
    await measure(app, base_steps[:100])
    await measure(app, steps[: options.warmup])
    base_cpu, base_wall = await measure(app, base_steps[100:])
    cpu, wall = await measure(app, steps[options.warmup :])
    base = figures(base_cpu[BASELINE])
    everything = [v for name in MIXED for v in cpu.get(name, [])]
    all_wall = [v for name in MIXED for v in wall.get(name, [])]
    mix = figures(everything)
    endpoints = {}
    for name in MIXED:
        row = figures(cpu[name])
        row["wall_mean_ms"] = statistics.fmean(wall[name])
        row["mean_x_baseline"] = row["mean_ms"] / base["mean_ms"]
        endpoints[name] = row
    mix["wall_mean_ms"] = statistics.fmean(all_wall)
    mix["mean_x_baseline"] = mix["mean_ms"] / base["mean_ms"]
    base["wall_mean_ms"] = statistics.fmean(base_wall[BASELINE])
    return {
        "baseline": base,
        "endpoints": endpoints,
        "mix": mix,
        "requests_per_core_second": 1000 / mix["mean_ms"],
    }


def run(options: Options) -> dict[str, Any]:
    _clinicians, patient_users = split_users(options.rate, options.write_share)
    from sqlalchemy.engine import make_url

    with (
        tempfile.TemporaryDirectory(prefix="bonemets-cpu-") as tmp,
        scratch_database(options.postgres, Path(tmp)) as url,
    ):
        backend = make_url(url).get_backend_name()
        clinician, logins, patient_ids = build(
            url, patients=options.patients, patient_logins=patient_users, seed=options.seed
        )
        figures_ = asyncio.run(_run(url, options, logins, clinician, patient_ids))
    result: dict[str, Any] = {
        "backend": backend,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_end": list(os.getloadavg()),
        },
        "requests": options.requests,
        "write_share": options.write_share,
        "cohort": options.patients,
        **figures_,
    }
    if options.results is not None:
        options.results.mkdir(parents=True, exist_ok=True)
        path = options.results / f"web_cpu-{backend}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        result["written_to"] = str(path)
    return result


def render(result: dict[str, Any]) -> None:
    base = result["baseline"]
    print(
        f"bonemets web CPU per request, {result['backend']}, {result['requests']} mixed requests "
        f"in process (load average at end {result['machine']['load_average_at_end'][0]:.1f})"
    )
    heads = ("n", "cpu mean", "median", "p90", "wall", "x base")
    widths = (6, 9, 8, 8, 8, 7)
    print(f"{'endpoint':36} " + " ".join(f"{h:>{w}}" for h, w in zip(heads, widths, strict=True)))
    rows = [*result["endpoints"].items(), ("all (mix)", result["mix"])]
    for name, r in rows:
        print(
            f"{name:36} {r['n']:>6} {r['mean_ms']:>8.2f}ms {r['median_ms']:>6.2f}ms "
            f"{r['p90_ms']:>6.2f}ms {r['wall_mean_ms']:>6.2f}ms {r['mean_x_baseline']:>7.1f}"
        )
    print(
        f"{'baseline: ' + BASELINE:36} {base['n']:>6} {base['mean_ms']:>8.2f}ms "
        f"{base['median_ms']:>6.2f}ms {base['p90_ms']:>6.2f}ms {base['wall_mean_ms']:>6.2f}ms"
    )
    print(
        f"=> {result['mix']['mean_ms']:.2f} ms of server CPU per mixed request, "
        f"{result['requests_per_core_second']:.0f} requests/s per core"
    )
    if result.get("written_to"):
        print(f"Written to {result['written_to']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=4000, help="measured mixed requests")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--baseline", type=int, default=2000, help="baseline requests")
    parser.add_argument("--patients", type=int, default=50, help="demo cohort size")
    parser.add_argument("--write-share", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="PostgreSQL on 127.0.0.1")
    parser.add_argument("--no-results", action="store_true", help="do not write the JSON")
    ns = parser.parse_args(argv)
    if ns.requests < 10 or not 0 <= ns.write_share <= 1:
        parser.error("need --requests >= 10 and 0 <= --write-share <= 1")
    result = run(
        Options(
            requests=ns.requests,
            warmup=ns.warmup,
            baseline=ns.baseline,
            patients=ns.patients,
            write_share=ns.write_share,
            seed=ns.seed,
            postgres=ns.postgres,
            results=None if ns.no_results else RESULTS,
        )
    )
    render(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
