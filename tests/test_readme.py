"""The README doctest: every command of the README's shell blocks, run in order as a newcomer on a
fresh clone would paste them (a fresh data folder, a fresh working folder holding only the
repository's docs/ and .venv), each checked against what it should print or write.

The checks are keyed by the command's text: a command added to the README without a check, or a
check whose command left the README, fails the test, so the README cannot drift from the code.
The only changes made to a command: `scripts/...` runs from the repository (it changes to the
repository's folder itself), and a command that serves (`scripts/demo`, `bonemets serve`) gets a
free `--port`, is asked for a page and a sign-in, then stopped.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NURSE = ("nurse", "bonemets-ward-demo")


def readme_commands(text: str) -> list[str]:
    """The commands of the README's ```sh blocks, in order: continuation lines joined, comments
    and blank lines dropped."""
    out: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            command = _strip_comment(line).strip()
            if command:
                out.append(re.sub(r"\s+", " ", command))
    return out


def _strip_comment(line: str) -> str:
    """The line without a trailing `# ...` comment (a # inside quotes is kept)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.commenters = "#"
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return line
    if not tokens:
        return ""
    # Cut the original at the comment: find the first # that is outside quotes.
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


@dataclass
class Run:
    command: str
    code: int
    out: str  # stdout and stderr together, as a reader would see them
    cwd: Path


Check = Callable[[Run], None]


def prints(*fragments: str, code: int = 0) -> Check:
    def check(run: Run) -> None:
        assert run.code == code, f"{run.command}: exit {run.code}\n{run.out[-3000:]}"
        for fragment in fragments:
            assert fragment in run.out, f"{run.command}: {fragment!r} not in\n{run.out[-3000:]}"

    return check


def writes(path: str, starts: bytes | None = None, *fragments: str) -> Check:
    def check(run: Run) -> None:
        prints(*fragments)(run)
        target = run.cwd / path
        assert target.exists(), f"{run.command}: {path} not written"
        if starts is not None:
            with target.open("rb") as f:
                assert f.read(len(starts)) == starts, f"{path} does not start with {starts!r}"

    return check


def json_out(test: Callable[[dict[str, object]], bool]) -> Check:
    def check(run: Run) -> None:
        assert run.code == 0, f"{run.command}: exit {run.code}\n{run.out[-3000:]}"
        assert test(json.loads(run.out)), run.out[:2000]

    return check


def record_json(run: Run) -> None:
    assert run.code == 0, run.out
    record = json.loads((run.cwd / "record.json").read_text())
    example = json.loads((ROOT / "docs/examples/record.json").read_text())
    assert record == example  # the file in docs/examples is what the command prints


def simulation(run: Run) -> None:
    prints("written to sim")(run)
    summary = json.loads((run.cwd / "sim/summary.json").read_text())
    text = json.dumps(summary)
    for arm in ("none", "denosumab", "zoledronic-acid-q12w", "anti-tumour"):
        assert arm in text
    assert (run.cwd / "sim/cohort.png").read_bytes().startswith(b"\x89PNG")


def serves(run: Run) -> None:
    """Checked while the server runs (see `_serve`): here, only that it was stopped by us."""
    assert "Serving on http://127.0.0.1:" in run.out, run.out


BIN = ".venv/bin/bonemets"
CHECKS: dict[str, Check] = {
    "scripts/demo": serves,
    # scripts/test runs this test, among all the others: it is run by CI, not from here.
    "scripts/test": lambda run: None,
    f"{BIN} demo --no-serve": prints("Demo database:", "DEMO-0001 to DEMO-0050", "nurse"),
    f"{BIN} careplan DEMO-0001 --out plan.pdf": writes("plan.pdf", b"%PDF", "Wrote plan.pdf"),
    f"{BIN} calendar DEMO-0001 --out doses.ics": writes("doses.ics", b"BEGIN:VCALENDAR", "events"),
    f'{BIN} import docs/examples/bundle.json --team "Breast oncology team"': prints(
        "Patients: 1 created", "Observation"
    ),
    f"{BIN} serve": serves,
    f"{BIN} triage docs/examples/report-leg-weakness.json": prints("EMERGENCY", "mscc"),
    f"{BIN} triage - --json < docs/examples/report-leg-weakness.json": json_out(
        lambda r: r["level"] == "emergency" and "free_text_findings" in r
    ),
    f"{BIN} example-record > record.json": record_json,
    f"{BIN} assess record.json --as-of 2026-11-23": prints("2026-11-23: emergency"),
    f"{BIN} assess docs/examples/bundle.json --as-of 2026-11-23 --json": json_out(
        lambda r: r["level"] == "emergency" and r["as_of"] == "2026-11-23"
    ),
    f"{BIN} score mirels --site peritrochanteric --pain functional --lesion lytic --size 0.7": (
        prints("12")
    ),
    f"{BIN} score sins --location T12 --pain mechanical --lesion lytic --alignment normal "
    "--collapse over_50 --posterolateral none": prints("11"),
    f"{BIN} calc corrected-calcium --calcium 2.45 --albumin 28": prints("2.69"),
    f"{BIN} calc crcl --age 72 --weight 60 --sex female --creatinine 1.0 --unit mg/dL": prints(
        "mL/min"
    ),
    f"{BIN} calc ctcae hypercalcaemia --value 12.8 --unit mg/dL": prints("grade 3"),
    f"{BIN} calc tscore --t-score -2.7 --age 64 --sex female": prints("osteoporosis"),
    f"{BIN} calc intake --age 72 --sex female": prints("calcium"),
    f"{BIN} calc pain-ladder --score 6 --crcl 45": prints("step"),
    f"{BIN} sources nice-ng234": prints("NICE guideline NG234"),
    f"{BIN} schema triage": json_out(lambda r: "symptoms" in json.dumps(r)),
    f"{BIN} db upgrade": prints("Schema is up to date"),
    f"printf '%s\\n' 'correct horse battery staple 42' | {BIN} user add dr.smith --role "
    'clinician --team "Breast oncology team" --password-stdin': prints("Added clinician"),
    f'{BIN} team set "Breast oncology team" --alert-email team@hospital.test': prints(
        "team@hospital.test"
    ),
    f"{BIN} notify run": prints(),
    f"{BIN} synth-export --patients 200 --seed 1 export/": prints("200 patients"),
    f"{BIN} worklist export/ --as-of 2026-11-23 --out wl/": writes(
        "wl/worklist.parquet", b"PAR1", "Written to "
    ),
    f'{BIN} import export/ --team "Breast oncology team"': prints("Patients: 200 created"),
    f'{BIN} ask "can I have a tooth out on zometa"': prints("jaw"),
    f"{BIN} simulate vicious-cycle --treatment none --treatment denosumab --treatment "
    "zoledronic-acid --treatment zoledronic-acid-q12w --treatment anti-tumour --cohort 500 "
    "--days 1825 --start-day 365 --out sim/": simulation,
    f"{BIN} user link-ehr dr.smith --issuer https://ehr.hospital.org/fhir --subject "
    "Practitioner/123": prints("Practitioner/123"),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(command: str, cwd: Path, env: dict[str, str]) -> Run:
    """Start a serving command on a free port, check the app answers with the demo's data (the
    page and a nurse's sign-in), then stop it."""
    port = _free_port()
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {command} --port {port}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                page = httpx.get(f"{base}/login", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, f"{command} stopped: {proc.stdout.read()!r}"  # type: ignore[union-attr]
                assert time.monotonic() < deadline, f"{command}: no answer on {base}"
                time.sleep(0.5)
        assert page.status_code == 200 and "Sign in" in page.text
        with httpx.Client(base_url=base, timeout=30) as client:
            session = client.post("/api/session", json={"username": NURSE[0], "password": NURSE[1]})
            assert session.status_code == 200, session.text  # the demo's logins exist here
            cookie = session.cookies.get("bm_session") or ""
            rows = client.get("/api/worklist", headers={"Cookie": f"bm_session={cookie}"})
            assert rows.status_code == 200, rows.text
            ids = {row["patient_id"] for row in rows.json()}
            assert "DEMO-0001" in ids, sorted(ids)[:5]  # and its patients
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
    return Run(command, 0, out.decode(errors="replace"), cwd)


def _run(command: str, cwd: Path, env: dict[str, str]) -> Run:
    if command.startswith("scripts/"):
        command = str(ROOT / command.split()[0]) + command[len(command.split()[0]) :]
    if command.endswith((" serve", "scripts/demo")):
        return _serve(command, cwd, env)
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=600,
    )
    return Run(command, done.returncode, done.stdout.decode(errors="replace"), cwd)


def test_every_readme_command_has_a_check() -> None:
    commands = readme_commands(README.read_text())
    assert set(commands) == set(CHECKS), {
        "in the README without a check": sorted(set(commands) - set(CHECKS)),
        "checked but not in the README": sorted(set(CHECKS) - set(commands)),
    }


@pytest.mark.slow
def test_the_readme_runs_in_order_on_a_fresh_data_folder(tmp_path: Path) -> None:
    if not (ROOT / ".venv/bin/bonemets").exists():
        pytest.skip("no .venv in the repository: run scripts/setup")
    work = tmp_path / "clone"
    work.mkdir()
    (work / ".venv").symlink_to(ROOT / ".venv")
    (work / "docs").symlink_to(ROOT / "docs")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BONEMETS_") and k not in ("COLUMNS", "FORCE_COLOR")
    }
    env |= {"BONEMETS_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "100", "NO_COLOR": "1"}
    commands = readme_commands(README.read_text())
    failures: list[str] = []
    for command in commands:
        if command == "scripts/test":
            continue  # the suite that runs this test
        run = _run(command, work, env)
        try:
            CHECKS[command](run)
        except AssertionError as exc:
            failures.append(f"{command}\n  {str(exc)[:1500]}")
            if run.code != 0:
                break  # later commands build on this one
    assert not failures, "\n".join(failures)
