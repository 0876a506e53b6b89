"""A real Spark standalone cluster for tests: one master and workers, from the installed PySpark.

The same ``spark-class`` calls a data engineer makes (issue 22)::

    spark-class org.apache.spark.deploy.master.Master --host 127.0.0.1 --port P --webui-port Q
    spark-class org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores 1 --memory 1g spark://127.0.0.1:P

on free ports, each in its own process group (killed as a group: ``spark-class`` runs the JVM as
a child), each worker with its own work folder. `Cluster.add_worker` returns once the master's
web UI JSON (``http://127.0.0.1:Q/json/``) lists the worker as alive.

The workers' Python finds custseg as the driver does: ``PYTHONPATH`` starts with the folder
that holds the imported ``custseg`` (a source checkout or site-packages).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

#: Seconds for a master or a worker to come up (a JVM start on a loaded 2-core machine).
START_S = 120.0
#: Seconds for a process group to stop after SIGTERM before SIGKILL.
STOP_S = 15.0
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def cluster_env(**extra: str) -> dict[str, str]:
    """The environment for the cluster's JVMs and for custseg runs against it."""
    import custseg
    from custseg.engines.spark.session import find_java

    java, _ = find_java()
    source = str(Path(custseg.__file__).resolve().parents[1])
    env = dict(os.environ)
    env.update({
        "SPARK_HOME": str(spark_home()),
        "JAVA_HOME": str(Path(java).resolve().parents[1]),
        "PYTHONPATH": os.pathsep.join(p for p in (source, env.get("PYTHONPATH", "")) if p),
        "PYSPARK_PYTHON": sys.executable,
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
    })
    env.update(extra)
    return env


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the process group, SIGKILL after `STOP_S`; waits for the leader."""
    for sig, wait in ((signal.SIGTERM, STOP_S), (signal.SIGKILL, STOP_S)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue


class Cluster:
    """A standalone master on free ports, and its workers; `stop` ends them all."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port, self.webui_port = free_port(), free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self.webui_url = f"spark://127.0.0.1:{self.webui_port}"     # answers HTTP, not Spark
        self.master: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.started = 0                      # workers started so far (each its own folder)

    def _launch(self, name: str, *args: str, env: dict | None = None) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "ab")
        try:
            return subprocess.Popen([str(spark_home() / "bin" / "spark-class"), *args], stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env or cluster_env(), start_new_session=True)
        finally:
            log.close()

    def status(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.webui_port}/json/", timeout=5) as page:
            return json.load(page)

    def _wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            try:
                if ready(self.status()):
                    return
            except (OSError, ValueError):       # not listening yet, or a page not yet JSON
                pass
            if self.master is not None and self.master.poll() is not None:
                break
            time.sleep(0.5)
        raise RuntimeError(f"{what} did not come up within {START_S:g} s (logs in {self.folder})")

    def start_master(self) -> Cluster:
        self.master = self._launch("master", MASTER_CLASS, "--host", "127.0.0.1", "--port", str(self.port),
                                   "--webui-port", str(self.webui_port))
        self._wait(lambda s: s.get("status") == "ALIVE", f"the master {self.url}")
        return self

    def add_worker(self, cores: int = 1, memory: str = "1g", env: dict | None = None) -> subprocess.Popen:
        """Start a worker and wait until the master lists one more alive worker."""
        alive = self.status()["aliveworkers"]
        self.started += 1
        number = self.started
        work = self.work_folder(number)
        worker = self._launch(f"worker{number}", WORKER_CLASS, "--host", "127.0.0.1", "--cores", str(cores),
                              "--memory", memory, "--work-dir", str(work), "--webui-port", "0", self.url, env=env)
        self.workers.append(worker)
        self._wait(lambda s: s["aliveworkers"] > alive, f"a worker of {self.url}")
        return worker

    def work_folder(self, number: int) -> Path:
        """The work folder of the ``number``-th worker started (1 for the first): the executors'
        logs are in ``APP/EXECUTOR/stderr`` there."""
        return self.folder / f"worker{number}"

    def tasks_taken(self, number: int) -> int:
        """Tasks the executors of the ``number``-th worker were given so far (from their logs)."""
        return sum(path.read_text(errors="replace").count("Got assigned task")
                   for path in self.work_folder(number).glob("*/*/stderr"))

    def kill_worker(self, worker: subprocess.Popen) -> None:
        stop_group(worker)
        self.workers.remove(worker)

    def stop(self) -> None:
        for worker in list(self.workers):
            self.kill_worker(worker)
        if self.master is not None:
            stop_group(self.master)
            self.master = None


@contextmanager
def standalone_cluster(folder: Path, workers: int = 1, cores: int = 1, memory: str = "1g"):
    """A started master with ``workers`` registered workers; everything stopped on exit."""
    cluster = Cluster(folder)
    try:
        cluster.start_master()
        for _ in range(workers):
            cluster.add_worker(cores, memory)
        yield cluster
    finally:
        cluster.stop()


def run_cli(*args, env: dict | None = None, timeout: float = 600) -> tuple[int, str, str, float]:
    """``custseg ARGS`` in a fresh process (a fresh Spark driver): code, stdout, stderr, seconds."""
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", "from custseg.cli import main; main()", *map(str, args)],
                          capture_output=True, text=True, env=env or cluster_env(), timeout=timeout)
    return done.returncode, done.stdout, done.stderr, time.monotonic() - start
