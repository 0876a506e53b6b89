"""Checks that a Spark cluster can run custseg, made before any fit, each failure in one line.

A run on a cluster master (``spark://``, ``yarn``, ``k8s://``) needs three things that only
show late, as long Java traces, when they are missing:

* the address is a Spark master, not another server (the master's web UI port answers HTTP):
  `answers_http` tells which, after the session failed or did not start in time;
* an executor starts: `check_executors` runs a one-task probe job and cancels it when no
  executor has taken it within ``spark_executor_timeout`` seconds;
* the executors' Python imports custseg at the driver's version: the probe job runs
  `probe_executor` there (pickled by reference, so an executor without custseg fails to
  load it with ``ModuleNotFoundError``).

``local[N]`` runs its workers on the driver's own Python and needs none of this.
"""

from __future__ import annotations

import importlib
import re
import socket
import sys
import threading
import uuid
from dataclasses import dataclass

from ... import __version__
from ...errors import EngineError
from .watchdog import tagged

__all__ = ["Outcome", "answers_http", "check_executors", "executor_problem", "not_a_master", "probe_executor", "root_cause",
           "run_with_timeout"]

#: Seconds to wait for a job that was cancelled to give its thread back.
CANCEL_GRACE_S = 10.0
#: What the README and the messages offer as the ways to get custseg onto the executors.
SHIP_HINT = "or ship it with --py-files / a packed environment"
#: What the executors import to run custseg's work (`custseg.engines.spark.customers` hands them
#: `custseg.model.Model.assign` through ``mapInPandas``, which needs pyarrow; a log's features
#: are computed there by DuckDB, `custseg.engines.spark.partitions`): the probe imports them
#: too, so that a Python with custseg's source but not its packages fails there.
EXECUTOR_MODULES = ("custseg.model", "custseg.engines.spark.partitions", "duckdb", "pyarrow")
#: The last line of a Python traceback (``RuntimeError: ...``), and Spark's suffix to it.
_PYTHON_RAISED = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)(: |$)")
_SQLSTATE = re.compile(r"\s*SQLSTATE: \w+\.?$")
_MISSING_MODULE = re.compile(r"(ModuleNotFoundError|ImportError): ([^\n\r]+)")
_NOT_CUSTSEG = re.compile(r"No module named '(?!custseg\b)")
_PYTHON_MISMATCH = re.compile(r"Python in worker has different version:? \(?(\d+\.\d+)\)? than that in driver:? "
                              r"\(?(\d+\.\d+)\)?")


def probe_executor(_=None) -> tuple[str, tuple[int, int]]:
    """What an executor's Python has: custseg's version and its own ``(major, minor)``.

    Run on the executors by `check_executors`; it is defined here, in custseg, so that an
    executor whose Python lacks custseg cannot even load it (the function travels by name),
    and it imports `EXECUTOR_MODULES`, so that one without custseg's packages fails too.

    Examples
    --------
    >>> import custseg
    >>> probe_executor() == (custseg.__version__, tuple(sys.version_info[:2]))
    True
    """
    for name in EXECUTOR_MODULES:
        importlib.import_module(name)
    return __version__, (sys.version_info[0], sys.version_info[1])


@dataclass
class Outcome:
    """What `run_with_timeout` saw: ``"done"`` (with ``value``), ``"failed"`` (with
    ``error``) or ``"timeout"`` (the job was still running; ``cancel`` was called)."""

    state: str
    value: object = None
    error: BaseException | None = None


def run_with_timeout(job, timeout: float | None, cancel=None, *, grace: float = CANCEL_GRACE_S,
                     keep_waiting=None) -> Outcome:
    """Run ``job()`` in a daemon thread and wait at most ``timeout`` seconds for it.

    When it has not finished by then and ``keep_waiting()`` (when given) says so, it is
    waited for until it ends. Otherwise ``cancel()`` is called (when given) and the thread
    is waited for ``grace`` seconds more; a thread that still runs is left behind (daemon:
    it never keeps the process alive).

    Examples
    --------
    >>> run_with_timeout(lambda: 6 * 7, 5).value
    42
    >>> import time
    >>> run_with_timeout(lambda: time.sleep(5), 0.05, grace=0).state
    'timeout'
    >>> run_with_timeout(lambda: 1 / 0, 5).error.__class__.__name__
    'ZeroDivisionError'
    """
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = job()
        except BaseException as exc:     # handed to the caller's thread, which decides
            box["error"] = exc

    thread = threading.Thread(target=target, name="custseg-spark-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive() and keep_waiting is not None and keep_waiting():
        thread.join()
    if thread.is_alive():
        if cancel is not None:
            cancel()
        thread.join(grace)
        return Outcome("timeout")
    if "error" in box:
        return Outcome("failed", error=box["error"])
    return Outcome("done", value=box.get("value"))


def answers_http(host: str, port: int, timeout: float = 3.0) -> bool:
    """Whether ``host:port`` answers an HTTP request (a web UI, not a Spark master's RPC port).

    Asked only once a session on that address has failed or not started in time: a real
    master would log the request as a bad frame.

    Examples
    --------
    >>> answers_http("127.0.0.1", 9, timeout=0.5)
    False
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode("ascii"))
            return sock.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


def not_a_master(master: str) -> str:
    """The line for a master URL whose address answered HTTP.

    Examples
    --------
    >>> not_a_master("spark://h:8080")[:60]
    'spark://h:8080 is not a Spark master (it answered HTTP: the '
    """
    return (f"{master} is not a Spark master (it answered HTTP: the web UI port? "
            f"the master URL is usually spark://HOST:7077)")


# --------------------------------------------------------------------------- the probe job


def _probe_job(sc, tag: str):
    with tagged(sc, tag):
        return sc.parallelize([0], 1).map(probe_executor).collect()[0]


def check_executors(spark, master: str, timeout: float) -> None:
    """Run `probe_executor` on one executor; an `EngineError` line when it cannot.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        A classic session (with a SparkContext) on a cluster master.
    master : str
        The master URL, for the messages.
    timeout : float
        Seconds to wait for an executor to take the probe task (``spark_executor_timeout``).

    Raises
    ------
    EngineError
        No executor started within ``timeout``, the executors' Python cannot import custseg,
        or runs another version of it.

    Examples
    --------
    >>> check_executors(spark, "spark://h:7077", 120)  # doctest: +SKIP
    """
    sc = spark.sparkContext
    tag = f"custseg-probe-{uuid.uuid4().hex[:10]}"
    outcome = run_with_timeout(lambda: _probe_job(sc, tag), timeout, lambda: sc.cancelJobsWithTag(tag))
    problem = executor_problem(outcome, master, timeout, sc.pythonExec)
    if problem is not None:
        raise EngineError(problem)


def executor_problem(outcome: Outcome, master: str, timeout: float, python: str) -> str | None:
    """The line for what the probe job saw, or None when the executors can run custseg.

    Examples
    --------
    >>> executor_problem(Outcome("timeout"), "spark://h:7077", 120, "python3")[:49]
    'no executor started within 120 s on spark://h:707'
    >>> executor_problem(Outcome("done", value=(__version__, tuple(sys.version_info[:2]))), "m", 1, "p") is None
    True
    """
    install = f"install custseg {__version__} in the workers' Python (PYSPARK_PYTHON={python}) {SHIP_HINT}"
    if outcome.state == "timeout":
        return (f"no executor started within {timeout:g} s on {master}: the cluster has no free worker with "
                f"the cores/memory asked (spark.executor.cores/memory); raise --spark-executor-timeout "
                f"or free a worker")
    if outcome.state == "failed":
        text = str(outcome.error)
        mismatch = _PYTHON_MISMATCH.search(text)
        if mismatch:
            return (f"executors on {master} run Python {mismatch.group(1)} and the driver Python "
                    f"{mismatch.group(2)}: point PYSPARK_PYTHON (now {python}) at a Python "
                    f"{mismatch.group(2)} with custseg {__version__} on every worker, {SHIP_HINT[3:]}")
        missing = _MISSING_MODULE.search(text)
        if missing:
            what = "a package custseg needs" if _NOT_CUSTSEG.search(missing.group(2)) else "custseg"
            return (f"executors on {master} cannot import {what} ({missing.group(1)}: "
                    f"{missing.group(2).strip()}): {install}")
        return f"the probe job on {master} failed: {root_cause(outcome.error)}"
    version, python_version = outcome.value
    if version != __version__:
        return f"executors on {master} run custseg {version}, the driver custseg {__version__}: {install}"
    driver = (sys.version_info[0], sys.version_info[1])
    if tuple(python_version) != driver:
        return (f"executors on {master} run Python {'.'.join(map(str, python_version))} and the driver Python "
                f"{'.'.join(map(str, driver))}: point PYSPARK_PYTHON (now {python}) at a matching Python")
    return None


def root_cause(exc: BaseException) -> str:
    """One line for a Spark error: a Java error's innermost cause, else the first line."""
    root = getattr(exc, "java_exception", None)
    if root is not None:
        while root.getCause() is not None:
            root = root.getCause()
        name = str(root.getClass().getSimpleName())
        message = root.getMessage()
        return f"{name}: {message}" if message else name
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    raised = [line for line in lines if _PYTHON_RAISED.match(line)]
    if lines and "Python worker" in lines[0] and raised:       # an executor's Python traceback: its error
        return _SQLSTATE.sub("", raised[-1])
    return lines[0] if lines else type(exc).__name__
