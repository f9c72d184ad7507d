"""A real Spark standalone cluster on loopback, from the installed pyspark: its own Master and
Worker classes started with ``spark-class``, as an operator starts them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK_", "SPARK_"))}
    env |= {
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_DAEMON_MEMORY": "256m",  # the Master's and Workers' own JVMs
    }
    return env


def _wait(what: str, ready: Any, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise TimeoutError(f"{what} not ready after {timeout:.0f} s:\n{tail}")
        time.sleep(0.3)


@dataclass
class Cluster:
    root: Path
    port: int
    ui_port: int
    master: subprocess.Popen[bytes] | None = None
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def _start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("wb")
        self._logs.append(log)
        return subprocess.Popen(
            [str(spark_home() / "bin" / "spark-class"), *args],
            env=base_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill takes its executors too
        )

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as r:
            data: dict[str, Any] = json.load(r)
            return data

    def alive_workers(self) -> int:
        try:
            return sum(1 for w in self.state()["workers"] if w["state"] == "ALIVE")
        except (OSError, ValueError):  # not listening yet, or still starting its UI
            return -1

    def start_master(self) -> None:
        self.master = self._start(
            "master",
            [
                "org.apache.spark.deploy.master.Master",
                *("--host", "127.0.0.1", "--port", str(self.port)),
                *("--webui-port", str(self.ui_port)),
            ],
        )
        _wait("master", lambda: self.alive_workers() >= 0, 90, self.root / "master.log")

    def start_worker(self, name: str, cores: int = 1) -> None:
        work = self.root / name
        work.mkdir(exist_ok=True)
        self.workers[name] = self._start(
            name,
            [
                "org.apache.spark.deploy.worker.Worker",
                self.url,
                *("--host", "127.0.0.1", "--cores", str(cores), "--memory", "1g"),
                *("--webui-port", "0", "--work-dir", str(work)),
            ],
        )
        want = len(self.workers)
        _wait(f"worker {name}", lambda: self.alive_workers() >= want, 90, self.root / f"{name}.log")

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker's process group: the Worker, its executor and Python workers."""
        proc = self.workers.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)

    def apps(self, name: str) -> set[Path]:
        """The application folders in worker `name`'s work dir (one per application it served)."""
        return set((self.root / name).glob("app-*"))

    def executor_logs(self, name: str, before: set[Path]) -> str:
        """The logs of the executors worker `name` ran for applications not in `before`."""
        return "".join(
            p.read_text(errors="replace")
            for app in sorted(self.apps(name) - before)
            for p in sorted(app.glob("*/stderr"))
        )

    def stop(self) -> None:
        for proc in [*self.workers.values(), self.master]:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*self.workers.values(), self.master]:
            if proc is not None:
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        for log in self._logs:
            log.close()


def start_cluster(root: Path, workers: int) -> Cluster:
    cluster = Cluster(root, free_port(), free_port())
    try:
        cluster.start_master()
        for i in range(workers):
            cluster.start_worker(f"worker{i + 1}")
    except BaseException:
        cluster.stop()
        raise
    return cluster
