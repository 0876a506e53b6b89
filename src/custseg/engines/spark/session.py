"""Spark sessions from a master URL, with one clear line for whatever is missing.

`spark_session` accepts the master URLs a data engineer types:

* ``local[*]`` (the default), ``local``, ``local[2]``, ``local[2,3]``: Spark in this
  process's JVM, on this machine's cores; the web UI is off and shuffles use 2 partitions
  per core (not Spark's 200, made for clusters);
* ``spark://HOST:7077`` (or ``spark://H1:7077,H2:7077``): a standalone cluster;
* ``sc://HOST[:PORT]`` (port 15002 by default): a Spark Connect server; this needs only the
  Python client (``pyspark[connect]`` or ``pyspark-client``), no Java;
* ``yarn`` and ``k8s://...``: passed to Spark as they are.

Every session custseg makes reads and writes dates in UTC (``spark.sql.session.timeZone``),
as the DuckDB engine does, runs adaptive query execution (AQE), also over cached plans (so
that a cached table gets as many partitions as its data need, not one per shuffle partition),
and prints no progress bars on the console. A session that is
already running in this process is reused as it is (Spark keeps one per process).

What cannot work is said in one line (`custseg.errors.EngineError`), never a Java stack
trace: PySpark not installed (``pip install "custseg[spark]"``), no Java or a Java older
than 17 (Spark 4 runs on Java 17 and 21), a master or Connect server that does not answer
within ``timeout`` seconds, a master URL that is not one of the above
(`custseg.errors.SettingsError`).

Java is the one found by ``JAVA_HOME``, else the ``java`` on the ``PATH``; when neither is
set or good enough and ``JAVA_HOME`` is not set, a Java 17+ installed in the usual places
(``/usr/lib/jvm``, ``/Library/Java/JavaVirtualMachines``) is used, by setting ``JAVA_HOME``
for the JVM that PySpark starts.
"""

from __future__ import annotations

import functools
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

from ...errors import EngineError
from ...settings import LOCAL_MASTER, parse_master
from .probes import (
    Outcome,
    answers_http,
    check_executors,
    not_a_master,
    root_cause,
    run_with_timeout,
)

__all__ = ["DEFAULT_MASTER", "MIN_JAVA", "SIZED_BY_CUSTSEG", "find_java", "spark_session"]

DEFAULT_MASTER = "local[*]"
#: Spark 4 needs Java 17 or later (17 and 21 are the versions it is tested on).
MIN_JAVA = 17
#: Seconds to wait for a standalone master or a Spark Connect server to answer.
CONNECT_TIMEOUT_S = 10.0
#: Seconds a new standalone session may take (the JVM's start included) before its address
#: is asked whether it is a web server rather than a Spark master.
MASTER_CHECK_S = 20.0
#: Where custseg notes the shuffle partitions it chose: a run sizes them to its input again
#: (`custseg.engines.spark.customers.size_shuffles`) unless the user set another value.
SIZED_BY_CUSTSEG = "spark.custseg.shufflePartitions"
#: Rows per Arrow batch between Spark and the executors' Python (Spark's default is 10,000;
#: 10M lines took 1 s less of 42 on one 2-core executor with 100,000-200,000).
ARROW_BATCH_ROWS = 100_000
INSTALL_HINT = 'install the Spark engine with: pip install "custseg[spark]"'
#: What the driver's JVM writes to its standard error before Spark's logging is set up and
#: that says nothing to a custseg user: the incubator-module warning of every Spark 4 JVM
#: (its launcher adds ``--add-modules=jdk.incubator.vector``) and blank lines.
JVM_NOISE = re.compile(r"^(WARNING: Using incubator modules: .*)?\s*$")
_JAVA_PLACES = ("/usr/lib/jvm/*/bin/java", "/Library/Java/JavaVirtualMachines/*/Contents/Home/bin/java")



@contextmanager
def quiet_pyspark():
    """Silence, for this block only, PySpark's warnings about pandas 3 (that it does not fully
    support it; deprecated keywords it passes to pandas): custseg's results are tested."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*PySpark does not yet fully support pandas.*")
        warnings.filterwarnings("ignore", module=r"pyspark(\.|$)")
        yield


def _import_pyspark():
    try:
        with quiet_pyspark():
            import pyspark.sql
    except ImportError:
        raise EngineError(f"the Spark engine needs PySpark, which is not installed: {INSTALL_HINT}") from None
    return pyspark.sql.SparkSession


def _local_cores(master: str) -> int:
    found = LOCAL_MASTER.match(master.strip())
    cores = found.group(2) if found else None
    if cores == "*":
        return os.cpu_count() or 1
    return 1 if cores is None else int(cores)


def _answers(hosts: list[tuple[str, int]], timeout: float) -> bool:
    """Whether any (host, port) accepts a TCP connection within ``timeout`` seconds."""
    for host, port in hosts:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True
        except OSError:
            continue
    return False


# --------------------------------------------------------------------------- Java


@functools.lru_cache(maxsize=16)
def java_version(java: str) -> int | None:
    """The major version of the ``java`` executable (8 for ``1.8.0_292``), or None."""
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def find_java() -> tuple[str, int]:
    """The Java that Spark will run on and its major version; EngineError if none is usable.

    ``JAVA_HOME`` wins when it is set (and must hold Java 17+). Otherwise the ``java`` on the
    ``PATH``; if there is none, or it is older than 17, a Java 17+ from the usual install
    folders, which ``JAVA_HOME`` is then set to (PySpark starts the JVM from it).
    """
    home = os.environ.get("JAVA_HOME")
    if home:
        java = os.path.join(home, "bin", "java")
        version = java_version(java) if os.path.isfile(java) else None
        if version is None:
            raise EngineError(
                f"JAVA_HOME is {home}, which holds no working bin/java: "
                f"point it at a Java {MIN_JAVA} or later (Spark 4 runs on Java 17 and 21)"
            )
        if version < MIN_JAVA:
            raise EngineError(
                f"Spark 4 needs Java {MIN_JAVA} or later; JAVA_HOME ({home}) is Java {version}: "
                f"point JAVA_HOME at a Java 17 or 21"
            )
        return java, version
    on_path = shutil.which("java")
    version = java_version(on_path) if on_path else None
    if on_path and version is not None and version >= MIN_JAVA:
        return on_path, version
    installed = []
    for candidate in sorted(set().union(*(glob.glob(p) for p in _JAVA_PLACES))):
        found = java_version(candidate)
        if found is not None and found >= MIN_JAVA:
            installed.append((found not in (17, 21), found, candidate))   # 17 and 21 first
    if installed:
        _, found, java = min(installed)
        os.environ["JAVA_HOME"] = os.path.dirname(os.path.dirname(java))
        return java, found
    if on_path and version is not None:
        raise EngineError(
            f"Spark 4 needs Java {MIN_JAVA} or later; the java on the PATH ({on_path}) is Java "
            f"{version}: install Java 17 or 21 and set JAVA_HOME to it"
        )
    raise EngineError(
        f"Spark needs Java {MIN_JAVA} or later and no Java was found: install Java 17 or 21 "
        f"(e.g. apt-get install openjdk-17-jre-headless) and set JAVA_HOME to it"
    )


# --------------------------------------------------------------------------- sessions


def _defaults(kind: str, master: str, app_name: str) -> dict[str, str]:
    """Settings custseg gives the sessions it makes (``config`` overrides them)."""
    # AQE may coalesce the partitions of a plan that is cached (the partitions' rows, the
    # customer table): Spark keeps them as many as the shuffle's (200 by default on a cluster)
    # unless told otherwise, and every later scan of the cache ran that many tasks. The lines
    # go to the executors' Python in Arrow batches of `ARROW_BATCH_ROWS`, not Spark's 10,000.
    runtime = {"spark.sql.session.timeZone": "UTC", "spark.sql.adaptive.enabled": "true",
               "spark.sql.optimizer.canChangeCachedPlanOutputPartitioning": "true",
               "spark.sql.execution.arrow.maxRecordsPerBatch": str(ARROW_BATCH_ROWS)}
    if kind == "connect":          # only runtime settings can be set through Spark Connect
        return runtime
    logging = Path(__file__).with_name("log4j2.properties").resolve().as_uri()
    settings = {"spark.app.name": app_name, "spark.ui.showConsoleProgress": "false",
                # the driver's own log (this console) is quiet on every master; executors log
                # to their workers' files (standalone, YARN, Kubernetes), not to this console
                "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={logging}",
                **runtime}
    if kind == "local":
        partitions = str(max(2, 2 * _local_cores(master)))
        settings.update({
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": partitions,
            SIZED_BY_CUSTSEG: partitions,
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
        })
    return settings


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def spark_session(
    master: str = DEFAULT_MASTER,
    *,
    app_name: str = "custseg",
    config: dict | None = None,
    timeout: float = CONNECT_TIMEOUT_S,
    executor_timeout: float | None = None,
):
    """A SparkSession on ``master``: the one already running in this process, or a new one.

    Parameters
    ----------
    master : str
        ``local[*]`` (default), ``local[N]``, ``spark://HOST:PORT``, ``sc://HOST[:PORT]``
        (Spark Connect), ``yarn`` or ``k8s://URL``.
    app_name : str
        Name shown in the cluster's UI.
    config : dict, optional
        Spark settings (``{"spark.driver.memory": "4g"}``), over custseg's defaults (see the
        module docstring). Settings of the JVM (driver memory, ...) apply only to a session
        this call starts.
    timeout : float
        Seconds to wait for a standalone master or a Spark Connect server to answer.
    executor_timeout : float, optional
        For a new session on a cluster master (``spark://``, ``yarn``, ``k8s://``): seconds
        to wait for an executor to run a probe that imports custseg
        (`custseg.engines.spark.probes.check_executors`); None skips the probe.

    Returns
    -------
    pyspark.sql.SparkSession

    Raises
    ------
    EngineError
        PySpark or Java (17+) missing, the master does not answer within ``timeout`` or is
        not a Spark master, or (with ``executor_timeout``) no executor can run custseg.
    SettingsError
        ``master`` is not a master URL.

    Examples
    --------
    >>> spark = spark_session("local[2]", config={"spark.driver.memory": "2g"})  # doctest: +SKIP
    """
    kind, hosts = parse_master(master)
    SparkSession = _import_pyspark()
    settings = {**_defaults(kind, master, app_name), **{str(k): str(v) for k, v in (config or {}).items()}}
    if hosts and not _answers(hosts, timeout):
        what = "Spark Connect server" if kind == "connect" else "Spark master"
        raise EngineError(f"the {what} {master} does not answer within {timeout:g} s")
    if kind == "connect":
        builder = SparkSession.builder.remote(master)
    else:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        find_java()
        if kind == "local":
            # The Python workers run custseg's own code (the assignment of every customer):
            # they must be this interpreter, with its packages, not the first python3 on PATH.
            # PySpark reads only the environment for this; a value set by the user is kept.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = SparkSession.builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = _started(builder, master, kind, hosts, settings)
    if kind == "connect":
        return spark
    spark.sparkContext.setLogLevel("FATAL")      # as log4j2.properties: custseg says what failed
    if kind != "local" and executor_timeout is not None:
        try:
            check_executors(spark, master, executor_timeout)
        except EngineError:
            spark.stop()           # not left active for the next call to reuse unchecked
            raise
    return spark


def forward_stderr(stream, out=None) -> None:
    """Copy the JVM's standard error (bytes, line by line) to ``out`` (``sys.stderr``), less `JVM_NOISE`.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> forward_stderr(io.BytesIO(b"WARNING: Using incubator modules: jdk.incubator.vector\\n\\nError: x\\n"), out)
    >>> out.getvalue()
    'Error: x\\n'
    """
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", errors="replace")
        if not JVM_NOISE.match(line):
            target = out if out is not None else sys.stderr
            target.write(line)
            target.flush()


def _filtered_context(master: str, settings: dict[str, str]) -> None:
    """Start the SparkContext here, its JVM's standard error passed through `forward_stderr`.

    PySpark lets the JVM write to this process's standard error; ``launch_gateway`` with
    ``popen_kwargs`` (PySpark's hook for capturing it) and ``SparkContext(gateway=...)`` are
    how a caller starts it otherwise. A JVM this process already started is reused by Spark
    as it is, so nothing is done then.
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    if getattr(SparkContext, "_gateway", None) is not None:
        return
    conf = SparkConf().setMaster(master).setAll(list(settings.items()))
    gateway = launch_gateway(conf, popen_kwargs={"stderr": subprocess.PIPE})
    threading.Thread(target=forward_stderr, args=(gateway.proc.stderr,), name="custseg-jvm-stderr",
                     daemon=True).start()
    SparkContext(conf=conf, gateway=gateway)


def _start_errors() -> tuple[type[BaseException], ...]:
    """What starting a session raises: PySpark's errors, and py4j's for a raw Java error."""
    from pyspark.errors import PySparkException

    try:
        from py4j.protocol import Py4JError
    except ImportError:    # pragma: no cover - a Spark Connect client without py4j
        return (PySparkException, RuntimeError, OSError)
    return (PySparkException, Py4JError, RuntimeError, OSError)


def _started(builder, master: str, kind: str, hosts: list[tuple[str, int]], settings: dict[str, str] | None = None):
    """``builder.getOrCreate()``, with a standalone master checked to be one.

    A standalone session that has not started within `MASTER_CHECK_S` seconds is waited for
    only if its address does not answer HTTP (a web UI port, where Spark would retry for a
    minute before failing with a Java trace).
    """

    def start():
        with quiet_pyspark():
            if kind != "connect" and settings is not None:   # None: the builder's own JVM start
                _filtered_context(master, settings)
            return builder.getOrCreate()

    def is_http() -> bool:
        return any(answers_http(host, port) for host, port in hosts)

    if kind != "standalone":
        try:
            return start()
        except Exception as exc:           # told apart below, as for a standalone master
            outcome = Outcome("failed", error=exc)
    else:
        outcome = run_with_timeout(start, MASTER_CHECK_S, grace=0, keep_waiting=lambda: not is_http())
        if outcome.state == "done":        # started in the waiting thread: active in this one too
            return start()
    if outcome.state == "timeout":
        raise EngineError(not_a_master(master))
    exc = outcome.error
    if isinstance(exc, ImportError):        # Spark Connect without its client libraries
        raise EngineError(
            f"Spark Connect needs the PySpark Connect client ({_first_line(exc)}): "
            f'pip install "pyspark[connect]>=4.0"'
        ) from None
    if isinstance(exc, _start_errors()):
        if kind == "standalone" and is_http():
            raise EngineError(not_a_master(master)) from None
        raise EngineError(f"Spark could not start on {master}: {root_cause(exc)}") from None
    raise exc
