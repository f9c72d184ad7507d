"""Page budgets of the clinician app in a real Chromium, on the demo cohort (50 patients).

    .venv/bin/python bench/pages.py [--views 7] [--out bench/results/pages.json]

The demo is built into a temporary data folder and served by `bonemets serve` (uvicorn, one
worker, a process of its own, as a user runs it); Debian's Chromium (Playwright) signs in as the
demo nurse and opens each page: once with an empty cache (a first visit), then `--views` times
(a returning user: assets come from the browser's cache). For each page: time to first byte
(requestStart to responseStart) and load (navigation start to the load event), median and
worst of the returning views, and the bytes that crossed the network.

Targets (issue 19): TTFB under 200 ms and load under 1 s for every page but the simulator's first
run. The baseline, measured in the same run the same way, is /favicon.ico: a tiny answer with no
database work, so `ttfb_ratio` says how much of a page's TTFB is the page's own work.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin" / "bonemets"
NURSE = ("nurse", "bonemets-ward-demo")
CHROMIUM = os.environ.get("BONEMETS_CHROMIUM", "/usr/bin/chromium")
TIMING_JS = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  return {ttfb: n.responseStart - n.requestStart, load: n.loadEventEnd - n.startTime,
          bytes: performance.getEntriesByType("resource")
                   .reduce((sum, r) => sum + (r.transferSize || 0), n.transferSize || 0)};
}"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "BONEMETS_DATA_DIR": str(data), "BONEMETS_SECURE_COOKIES": "0"}
    env.pop("BONEMETS_DATABASE_URL", None)
    subprocess.run([str(BIN), "demo", "--no-serve"], env=env, check=True, capture_output=True)
    port = _port()
    proc = subprocess.Popen(
        [str(BIN), "serve", "--port", str(port)],
        env={**env, "BONEMETS_PUBLIC_URL": f"http://127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            httpx.get(f"{base}/login", timeout=2)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.25)
    raise SystemExit("the server did not answer")


def measure(views: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        proc, base = _serve(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                )
                screen = {"width": 1440, "height": 900}  # the nurse's screen of the issue
                context = browser.new_context(base_url=base, viewport=screen)
                page = context.new_page()
                page.goto("/login")
                page.get_by_label("Username").fill(NURSE[0])
                page.get_by_label("Password").fill(NURSE[1])
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url("**/worklist")
                top = page.locator("table.worklist tbody tr").first.get_attribute("data-patient")
                urls = {
                    # A fresh URL each view: the icon itself is cached for a day.
                    "baseline /favicon.ico": "/favicon.ico?view={i}",
                    "worklist": "/worklist",
                    "patient (most urgent)": f"/patients/{top}",
                    "simulator (default run, cached)": "/simulate",
                    "learn": "/learn",
                    "account": "/account",
                    "api docs (Swagger UI)": "/api/docs",
                }
                out: dict[str, Any] = {}
                for name, url in urls.items():
                    page.goto(url.format(i="first"))
                    page.wait_for_load_state("load")
                    first = page.evaluate(TIMING_JS)
                    runs = []
                    for i in range(views):
                        page.goto(url.format(i=i))
                        page.wait_for_load_state("load")
                        runs.append(page.evaluate(TIMING_JS))
                    out[name] = {
                        "first_view": {k: round(v, 1) for k, v in first.items()},
                        "ttfb_ms_median": round(statistics.median(r["ttfb"] for r in runs), 1),
                        "ttfb_ms_worst": round(max(r["ttfb"] for r in runs), 1),
                        "load_ms_median": round(statistics.median(r["load"] for r in runs), 1),
                        "load_ms_worst": round(max(r["load"] for r in runs), 1),
                        "bytes_median": int(statistics.median(r["bytes"] for r in runs)),
                    }
                # The simulator's first run of arms never run before: first byte, then all drawn.
                start = time.perf_counter()
                page.goto("/simulate?treatment=none&treatment=anti-tumour&days=1200")
                answered = page.evaluate(TIMING_JS)
                page.locator("#sim-progress").filter(has_text="Done.").wait_for(timeout=300_000)
                out["simulator (2 new arms, first run)"] = {
                    "ttfb_ms": round(answered["ttfb"], 1),
                    "load_ms": round(answered["load"], 1),
                    "all_arms_drawn_ms": round((time.perf_counter() - start) * 1000, 1),
                }
                browser.close()
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=30)
    base_ttfb = out["baseline /favicon.ico"]["ttfb_ms_median"] or 0.1
    for row in out.values():
        if "ttfb_ms_median" in row:
            row["ttfb_ratio"] = round(row["ttfb_ms_median"] / base_ttfb, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--views", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/pages.json")
    args = parser.parse_args()
    figures = measure(args.views)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "views": args.views,
        "targets": {"ttfb_ms": 200, "load_ms": 1000},
        "pages": figures,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for name, row in figures.items():
        print(f"{name:<36} " + ", ".join(f"{k} {v}" for k, v in row.items() if k != "first_view"))
    print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
