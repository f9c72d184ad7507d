"""Load test of the web app: a fixed offered rate of mixed clinician reads and patient symptom
submissions against a real uvicorn server on 127.0.0.1, on SQLite or PostgreSQL.

    .venv/bin/python bench/web_load.py                        # SQLite, 200 req/s for 60 s
    .venv/bin/python bench/web_load.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

Target (issue): 200 requests/s of mixed reads and symptom submissions for 60 s, zero errors, on
both backends. What it does, and undoes:

1. builds a fresh demo database (`build_demo`) plus one patient login per simulated patient: a
   SQLite file in a temporary folder, or, with ``--postgres ADMIN_URL``, a scratch database that
   the script creates on that server and drops at the end;
2. starts ``uvicorn --factory bonemets.faces.web.app:create_app`` on a free loopback port;
3. runs locust headless in a child process (gevent monkey-patches whatever imports locust, so it
   is kept out of this process and out of pytest), first a baseline phase (GET of a small static
   file at the same rate), then the mixed phase: clinicians GET the worklist, an assessment, the
   alerts and a record; patients POST symptom reports with the session's CSRF token. Every user
   has a constant-throughput wait, so the offered load is ``--rate`` requests/s whatever the
   latency, as long as a request takes less than 1 / (the user's own rate);
4. stops everything, prints requests, failures, achieved rate and p50/p99 per endpoint with the
   ratio of each p50 to the baseline p50 (machines here are noisy: ratios travel better than
   milliseconds) and writes the figures to ``bench/results/web_load-<backend>.json``.

Exit status 1 if any request failed or the achieved rate fell below 95% of the offered rate.

Workers: 2 by default. The app is synchronous Python, CPU-bound under one GIL per process, so one
uvicorn process can use one core at most; two processes can use both cores of this machine (the
load generator and PostgreSQL take their share of the same two cores, so more workers would only
add context switches and memory). Several workers are safe: sessions live in the database, and
the script gives every worker the same BONEMETS_SECRET_KEY.

Everything targets 127.0.0.1 only, is bounded in time (``--seconds``) and stops by itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
HOST = "127.0.0.1"
TARGET_SHARE = 0.95  # the achieved rate must reach this share of the offered rate

CLINICIAN_RATE = 4.0  # requests/s per simulated clinician: tolerates up to 250 ms per request
PATIENT_RATE = 2.0  # requests/s per simulated patient: tolerates up to 500 ms per submission
BASELINE_PATH = "/static/app.css"
# Users of the mixed phase start this many a second: each signs in, and an argon2 verification
# costs about 0.2 s of server time here, so a faster start would queue sign-ins past the timeout.
# Users wait for each other after signing in, so the sign-ins do not overlap the load.
SIGN_INS_PER_SECOND = 5.0
SIGN_IN_ATTEMPTS = 3

# Endpoint names as reported (ids folded so each route is one row).
WORKLIST = "GET /api/worklist"
ASSESSMENT = "GET /api/patients/[id]/assessment"
ALERTS = "GET /api/patients/[id]/alerts"
RECORD = "GET /api/patients/[id]/record"
SUBMIT = "POST /api/patients/[id]/reports"
LOGIN = "POST /api/session"
BASELINE = f"GET {BASELINE_PATH}"
MIXED = (WORKLIST, ASSESSMENT, ALERTS, RECORD, SUBMIT)

# Symptom reports the simulated patients send, in the triage contract's codes. Most are mild;
# about one in ten should alert the care team (so alerts and the worklist change under load).
REPORTS: list[dict[str, Any]] = [
    {"symptoms": [{"code": "fatigue", "severity": 1}]},
    {"symptoms": [{"code": "fatigue", "severity": 2}, {"code": "constipation", "severity": 1}]},
    {"symptoms": [{"code": "bone_pain", "site": "ribs", "severity": 2, "duration_days": 5}]},
    {"symptoms": [{"code": "constipation", "severity": 1}], "free_text": "a bit better today"},
    {"symptoms": []},
    {"symptoms": [{"code": "fatigue", "severity": 1}, {"code": "bone_pain", "site": "ribs",
                                                       "severity": 1, "duration_days": 2}]},
    {"symptoms": [{"code": "thirst", "severity": 2}, {"code": "constipation", "severity": 2}]},
    {"symptoms": [{"code": "jaw_pain", "severity": 1, "duration_days": 10}]},
    {"symptoms": [{"code": "fatigue", "severity": 1}]},
    {"symptoms": [{"code": "limb_weakness", "site": "legs"},
                  {"code": "back_pain", "site": "lower_back"}]},
]  # fmt: skip


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    patient_id: str | None = None


@dataclass
class Plan:
    """What the locust child needs to know; written to a JSON file for it."""

    base_url: str
    rate: float
    seconds: float
    baseline_seconds: float
    warmup_seconds: float
    clinician_users: int
    patient_users: int
    clinician: Login
    patients: list[Login]
    patient_ids: list[str]
    out: str
    seed: int = 7
    timeout: float = 10.0
    sign_ins_per_second: float = SIGN_INS_PER_SECOND

    @property
    def users(self) -> int:
        return self.clinician_users + self.patient_users


def split_users(rate: float, write_share: float) -> tuple[int, int]:
    """Clinician and patient user counts so that their constant throughputs add up to `rate`
    with `write_share` of it being submissions."""
    writes = rate * write_share
    patients = max(1, math.ceil(writes / PATIENT_RATE)) if writes > 0 else 0
    clinicians = max(1, math.ceil((rate - writes) / CLINICIAN_RATE))
    return clinicians, patients


# --- Percentiles and summaries -------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..1)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(samples: list[float], failures: int, elapsed: float) -> dict[str, Any]:
    """Figures for one endpoint: `samples` are response times in ms of every request (failed
    ones included, as the client saw them)."""
    values = sorted(samples)
    return {
        "requests": len(values),
        "failures": failures,
        "rps": len(values) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(values, 0.50),
        "p90_ms": percentile(values, 0.90),
        "p99_ms": percentile(values, 0.99),
        "max_ms": values[-1] if values else math.nan,
        "mean_ms": sum(values) / len(values) if values else math.nan,
    }


# --- The locust child ------------------------------------------------------------------------


def _locust_child(plan_path: str) -> int:  # pragma: no cover - runs in a subprocess
    """Runs in its own process: importing locust monkey-patches the standard library."""
    import logging
    import random

    import gevent  # type: ignore[import-untyped]
    from locust import FastHttpUser, constant_throughput, events, task
    from locust.env import Environment

    logging.basicConfig(level=logging.WARNING, format="locust: %(levelname)s %(message)s")
    raw = json.loads(Path(plan_path).read_text())
    raw["clinician"] = Login(**raw["clinician"])
    raw["patients"] = [Login(**p) for p in raw["patients"]]
    plan = Plan(**raw)
    rng = random.Random(plan.seed)

    state: dict[str, Any] = {"measuring": False, "ready": 0, "go": False}

    def ready() -> None:
        state["ready"] += 1
        while not state["go"]:
            gevent.sleep(0.02)

    samples: dict[str, list[float]] = {}
    failures: dict[str, int] = {}
    errors: dict[str, list[str]] = {}
    setup_errors: list[str] = []
    ramp_errors: dict[str, int] = {}  # failures while users start and warm up (not measured)

    def on_request(
        request_type: str,
        name: str,
        response_time: float,
        response_length: int,
        exception: BaseException | None = None,
        **_kw: Any,
    ) -> None:
        if not state["measuring"]:
            if exception is not None:
                ramp_errors[name] = ramp_errors.get(name, 0) + 1
            return
        samples.setdefault(name, []).append(float(response_time))
        if exception is not None:
            failures[name] = failures.get(name, 0) + 1
            seen = errors.setdefault(name, [])
            if len(seen) < 5:
                seen.append(repr(exception)[:300])

    events.request.add_listener(on_request)  # type: ignore[no-untyped-call]

    class Base(FastHttpUser):
        abstract = True
        host = plan.base_url
        network_timeout = plan.timeout
        connection_timeout = plan.timeout
        max_retries = 0

        def sign_in(self, login: Login) -> str:
            """POST /api/session; retried (a busy machine can queue an argon2 check past the
            timeout). Failed attempts are not part of the measurement."""
            why: object = None
            for _attempt in range(SIGN_IN_ATTEMPTS):
                with self.client.post(
                    "/api/session",
                    json={"username": login.username, "password": login.password},
                    name=LOGIN,
                    catch_response=True,
                ) as response:
                    if response.status_code == 200:
                        token: str = response.json()["csrf_token"]
                        return token
                    why = response.error or response.status_code
                    response.failure(f"sign in as {login.username}: {why!r}")
            setup_errors.append(f"sign in as {login.username}: {why!r}"[:300])
            raise RuntimeError(f"sign in as {login.username} failed")

    class BaselineUser(Base):
        wait_time = constant_throughput(plan.rate / plan.users)
        fixed_count = plan.users

        def on_start(self) -> None:
            ready()

        @task
        def static(self) -> None:
            self.client.get(BASELINE_PATH, name=BASELINE)

    class Clinician(Base):
        wait_time = constant_throughput(CLINICIAN_RATE)
        fixed_count = plan.clinician_users
        patient_ids: list[str]

        def on_start(self) -> None:
            self.sign_in(plan.clinician)
            self.patient_ids = plan.patient_ids
            ready()

        def some_patient(self) -> str:
            return rng.choice(self.patient_ids)

        @task
        def worklist(self) -> None:
            self.client.get("/api/worklist", name=WORKLIST)

        @task
        def assessment(self) -> None:
            self.client.get(f"/api/patients/{self.some_patient()}/assessment", name=ASSESSMENT)

        @task
        def alerts(self) -> None:
            self.client.get(f"/api/patients/{self.some_patient()}/alerts", name=ALERTS)

        @task
        def record(self) -> None:
            self.client.get(f"/api/patients/{self.some_patient()}/record", name=RECORD)

    logins = iter(plan.patients)

    class Patient(Base):
        wait_time = constant_throughput(PATIENT_RATE)
        fixed_count = plan.patient_users
        csrf = ""
        patient_id = ""

        def on_start(self) -> None:
            login = next(logins)
            self.csrf = self.sign_in(login)
            self.patient_id = login.patient_id or ""
            ready()

        @task
        def submit(self) -> None:
            self.client.post(
                f"/api/patients/{self.patient_id}/reports",
                json=rng.choice(REPORTS),
                headers={"X-CSRF-Token": self.csrf},
                name=SUBMIT,
            )

    def phase(
        user_classes: list[Any], users: int, seconds: float, spawn_rate: float
    ) -> dict[str, Any]:
        env = Environment(user_classes=user_classes, events=events, host=plan.base_url)
        runner = env.create_local_runner()
        state["ready"] = 0
        state["go"] = False
        started = time.monotonic()
        runner.start(users, spawn_rate=spawn_rate)
        deadline = started + 30.0 + users / spawn_rate
        while state["ready"] < users and time.monotonic() < deadline and not setup_errors:
            gevent.sleep(0.05)
        setup = time.monotonic() - started
        state["go"] = True
        if state["ready"] < users:
            runner.quit()
            return {"setup_error": setup_errors[:5] or [f"only {state['ready']}/{users} ready"]}
        gevent.sleep(plan.warmup_seconds)
        ramp = dict(ramp_errors)
        ramp_errors.clear()
        samples.clear()
        failures.clear()
        errors.clear()
        state["measuring"] = True
        begin = time.monotonic()
        gevent.sleep(seconds)
        state["measuring"] = False
        elapsed = time.monotonic() - begin
        runner.quit()
        return {
            "elapsed": elapsed,
            "setup_seconds": setup,
            "ramp_errors": ramp,
            "samples": {k: list(v) for k, v in samples.items()},
            "failures": dict(failures),
            "errors": {k: list(v) for k, v in errors.items()},
        }

    users = plan.users
    out: dict[str, Any] = {"baseline": phase([BaselineUser], users, plan.baseline_seconds, users)}
    if "setup_error" not in out["baseline"]:
        out["mixed"] = phase([Clinician, Patient], users, plan.seconds, plan.sign_ins_per_second)
    Path(plan.out).write_text(json.dumps(out))
    return 0


# --- Databases -------------------------------------------------------------------------------


def _backend(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).get_backend_name()


@contextmanager
def scratch_database(postgres_admin_url: str | None, folder: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file in `folder`, or a PostgreSQL database created
    on the admin URL's server (and dropped afterwards, with any connection left to it)."""
    if postgres_admin_url is None:
        yield f"sqlite:///{folder / 'load.sqlite3'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = make_url(postgres_admin_url)
    if admin_url.host not in (HOST, "localhost"):
        raise SystemExit(f"--postgres must point at {HOST} (got {admin_url.host!r})")
    name = f"bonemets_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def build(
    url: str, *, patients: int, patient_logins: int, seed: int
) -> tuple[Login, list[Login], list[str]]:
    """The demo database plus `patient_logins` patient accounts (the demo patient first, then
    one per further cohort patient). Returns the clinician login, the patient logins and the
    ids of every patient (all in the demo clinician's team)."""
    from sqlalchemy import select

    from bonemets.adapters.storage import tables as t
    from bonemets.adapters.storage.repository import Database
    from bonemets.faces.cli.web_cmds import DEMO_CLINICIAN, DEMO_PATIENT, build_demo
    from bonemets.service import accounts

    demo_patient = build_demo(url, patients=patients, seed=seed, today=dt.date.today())
    logins = [Login(*DEMO_PATIENT, patient_id=demo_patient)]
    db = Database(url)
    with db.transaction() as s:
        ids = [pid for pid in s.scalars(select(t.Patient.id).order_by(t.Patient.id))]
        others = [pid for pid in ids if pid != demo_patient]
        for i, pid in enumerate(others[: max(0, patient_logins - 1)]):
            login = Login(f"load-patient-{i:03d}", f"bonemets-load-{i:03d}-bluebell", pid)
            accounts.create_user(
                s, username=login.username, password=login.password, role="patient", patient_id=pid
            )
            logins.append(login)
    db.dispose()
    if len(logins) < patient_logins:
        raise SystemExit(f"a cohort of {patients} has too few patients for {patient_logins} users")
    return Login(*DEMO_CLINICIAN), logins, ids


# --- The server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(url: str, *, workers: int, log: Path) -> Iterator[str]:
    """uvicorn serving the app on a free loopback port; yields its base URL."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        BONEMETS_DATABASE_URL=url,
        BONEMETS_SECRET_KEY=secrets.token_urlsafe(32),  # the same in every worker
        BONEMETS_SECURE_COOKIES="0",  # plain http on loopback
        # Every simulated clinician signs in as the one demo clinician: one session each.
        BONEMETS_MAX_SESSIONS="10000",
    )
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "bonemets.faces.web.app:create_app",
        "--host", HOST, "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    base = f"http://{HOST}:{port}"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            _wait_until_up(proc, base, log)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _wait_until_up(proc: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(base + BASELINE_PATH, timeout=2) as response:
                if response.status == 200:
                    # Each worker has its own engine; make sure the others are listening too.
                    time.sleep(0.5)
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not come up:\n{log.read_text()[-3000:]}")


# --- The run ---------------------------------------------------------------------------------


@dataclass
class Options:
    rate: float = 200.0
    seconds: float = 60.0
    baseline_seconds: float = 10.0
    warmup_seconds: float = 3.0
    write_share: float = 0.2
    workers: int = 2
    patients: int = 50
    seed: int = 7
    postgres: str | None = None
    sign_ins_per_second: float = SIGN_INS_PER_SECOND
    results: Path | None = field(default_factory=lambda: RESULTS)


def run(options: Options) -> dict[str, Any]:
    """Build, serve, load, tear down. Returns the result (as written to the JSON file)."""
    clinicians, patient_users = split_users(options.rate, options.write_share)
    with tempfile.TemporaryDirectory(prefix="bonemets-load-") as tmp:
        folder = Path(tmp)
        with scratch_database(options.postgres, folder) as url:
            backend = _backend(url)
            t0 = time.monotonic()
            clinician, logins, patient_ids = build(
                url, patients=options.patients, patient_logins=patient_users, seed=options.seed
            )
            build_seconds = time.monotonic() - t0
            with server(url, workers=options.workers, log=folder / "server.log") as base:
                plan = Plan(
                    base_url=base,
                    rate=options.rate,
                    seconds=options.seconds,
                    baseline_seconds=options.baseline_seconds,
                    warmup_seconds=options.warmup_seconds,
                    clinician_users=clinicians,
                    patient_users=patient_users,
                    clinician=clinician,
                    patients=logins,
                    patient_ids=patient_ids,
                    out=str(folder / "locust.json"),
                    seed=options.seed,
                    sign_ins_per_second=options.sign_ins_per_second,
                )
                plan_path = folder / "plan.json"
                plan_path.write_text(json.dumps(asdict(plan)))
                limit = options.seconds + options.baseline_seconds + 2 * options.warmup_seconds
                child = subprocess.run(
                    [sys.executable, str(Path(__file__).resolve()), "--locust-child", plan_path],
                    timeout=limit + 180,
                    check=False,
                )
                if child.returncode != 0 or not Path(plan.out).exists():
                    raise RuntimeError(f"the locust child failed ({child.returncode})")
                raw = json.loads(Path(plan.out).read_text())
            server_log = (folder / "server.log").read_text(errors="replace")[-4000:]
    result = _result(options, backend, raw, clinicians, patient_users, build_seconds)
    result["server_log_tail"] = server_log if server_log.strip() else None
    if options.results is not None:
        options.results.mkdir(parents=True, exist_ok=True)
        path = options.results / f"web_load-{backend}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        result["written_to"] = str(path)
    return result


def _result(
    options: Options,
    backend: str,
    raw: dict[str, Any],
    clinicians: int,
    patient_users: int,
    build_seconds: float,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "backend": backend,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_end": list(os.getloadavg()),
        },
        "offered_rps": options.rate,
        "seconds": options.seconds,
        "write_share": options.write_share,
        "workers": options.workers,
        "users": {"clinicians": clinicians, "patients": patient_users},
        "cohort": options.patients,
        "build_seconds": round(build_seconds, 2),
    }
    for phase in ("baseline", "mixed"):
        if phase not in raw or "setup_error" in raw[phase]:
            result["setup_error"] = raw.get(phase, {}).get("setup_error", [f"no {phase} phase"])
            result["ok"] = False
            return result
    base = raw["baseline"]
    result["baseline"] = summarize(
        base["samples"].get(BASELINE, []), base["failures"].get(BASELINE, 0), base["elapsed"]
    )
    result["baseline"]["errors"] = base["errors"].get(BASELINE, [])
    mixed = raw["mixed"]
    elapsed = mixed["elapsed"]
    endpoints = {}
    everything: list[float] = []
    for name in MIXED:
        values = mixed["samples"].get(name, [])
        everything += values
        endpoints[name] = summarize(values, mixed["failures"].get(name, 0), elapsed)
        endpoints[name]["errors"] = mixed["errors"].get(name, [])
    unexpected = sorted(set(mixed["samples"]) - set(MIXED))
    failures = sum(mixed["failures"].values())
    overall = summarize(everything, failures, elapsed)
    base_p50 = result["baseline"]["p50_ms"]
    for row in [*endpoints.values(), overall]:
        row["p50_x_baseline"] = row["p50_ms"] / base_p50 if base_p50 else math.nan
    result["endpoints"] = endpoints
    result["overall"] = overall
    result["unexpected_requests"] = unexpected
    result["achieved_share"] = overall["rps"] / options.rate
    result["ok"] = (
        failures == 0
        and result["baseline"]["failures"] == 0
        and not unexpected
        and result["achieved_share"] >= TARGET_SHARE
    )
    return result


def render(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 120)
    if "setup_error" in result:
        console.print(f"[red]Setup failed[/]: {result['setup_error']}")
        return
    users = result["users"]
    table = Table(
        title=(
            f"bonemets web load, {result['backend']}: {result['offered_rps']:g} req/s offered for "
            f"{result['seconds']:g} s, {result['workers']} uvicorn worker(s), "
            f"{users['clinicians']} clinicians + {users['patients']} patients"
        )
    )
    for column in ("endpoint", "requests", "failures", "req/s", "p50 ms", "p99 ms", "p50 x base"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")

    def row(name: str, r: dict[str, Any], ratio: bool = True, style: str = "") -> None:
        table.add_row(
            escape(name),
            f"{r['requests']:,}",
            f"{r['failures']:,}",
            f"{r['rps']:.1f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            f"{r['p50_x_baseline']:.1f}" if ratio else "1.0",
            style=style,
        )

    for name, r in result["endpoints"].items():
        row(name, r)
    row("all (mixed phase)", result["overall"], style="bold")
    table.add_section()
    row(f"baseline: {BASELINE} (own phase)", result["baseline"], ratio=False, style="dim")
    console.print(table)
    for name, r in [*result["endpoints"].items(), ("baseline", result["baseline"])]:
        for error in r.get("errors", []):
            console.print(f"[red]{escape(name)}[/]: {escape(error)}")
    verdict = "[green]PASS[/]" if result["ok"] else "[red]FAIL[/]"
    console.print(
        f"{verdict}: achieved {result['overall']['rps']:.1f} req/s "
        f"({result['achieved_share']:.1%} of offered, needs {TARGET_SHARE:.0%}), "
        f"{result['overall']['failures']} failures."
    )
    if result.get("written_to"):
        console.print(f"Written to {result['written_to']}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--locust-child"]:
        return _locust_child(args[1])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=200.0, help="offered requests/s")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--warmup-seconds", type=float, default=3.0)
    parser.add_argument("--write-share", type=float, default=0.2, help="share of submissions")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--patients", type=int, default=50, help="demo cohort size")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="PostgreSQL on 127.0.0.1 to create (and drop) a scratch database on",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for the JSON")
    parser.add_argument("--no-results", action="store_true", help="do not write the JSON")
    ns = parser.parse_args(args)
    if not 0 <= ns.write_share <= 1 or ns.rate <= 0 or ns.seconds <= 0 or ns.workers < 1:
        parser.error("need 0 <= --write-share <= 1, --rate > 0, --seconds > 0, --workers >= 1")
    options = Options(
        rate=ns.rate,
        seconds=ns.seconds,
        baseline_seconds=ns.baseline_seconds,
        warmup_seconds=ns.warmup_seconds,
        write_share=ns.write_share,
        workers=ns.workers,
        patients=ns.patients,
        seed=ns.seed,
        postgres=ns.postgres,
        results=None if ns.no_results else ns.results,
    )
    result = run(options)
    render(result)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
