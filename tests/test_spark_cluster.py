"""The Spark engine on a cluster master: fail fast in one line, never hang (issue 22).

Fakes stand in for the SparkContext and the session builder: no JVM, each test in well under
a second. The failure paths are those a data engineer meets on a standalone cluster: an
address that answers HTTP (the master's web UI port), executors whose Python lacks custseg
or runs another version, no executor at all, executors lost during the run.
"""

from __future__ import annotations

import http.server
import threading
import time

import pytest

import custseg
from custseg.engines.spark import probes, session, watchdog
from custseg.engines.spark.probes import Outcome, check_executors, executor_problem
from custseg.engines.spark.watchdog import Watchdog, watched
from custseg.errors import EngineError, SettingsError
from custseg.settings import Settings

MASTER = "spark://10.0.0.5:7077"
INSTALL = (f"install custseg {custseg.__version__} in the workers' Python (PYSPARK_PYTHON=/opt/py/bin/python) "
           f"or ship it with --py-files / a packed environment")


# --------------------------------------------------------------------------- fakes


class FakeJob:
    """``sc.parallelize([0], 1).map(f).collect()``: returns ``value``, raises ``error``, or
    (``hang``) waits until its tag is cancelled and then fails as Spark does."""

    def __init__(self, sc):
        self.sc = sc

    def map(self, function):
        self.sc.mapped = function
        return self

    def collect(self):
        sc = self.sc
        if sc.error is not None:
            raise sc.error
        if sc.hang:
            assert sc.cancelled.wait(5), "the job was never cancelled"
            raise RuntimeError("Job 0 cancelled: part of cancelled job tag")
        return [sc.value]


class FakeContext:
    def __init__(self, *, value=None, error=None, hang=False, executors=(1,), busy=True):
        self.master, self.pythonExec = MASTER, "/opt/py/bin/python"
        self.value, self.error, self.hang = value, error, hang
        self.executors = list(executors)          # counts returned by successive looks
        self.busy = busy
        self.tags: list[str] = []
        self.cancelled = threading.Event()
        self.cancelled_tags: list[str] = []
        self.interrupt = False
        self.mapped = None

    # the parts of pyspark's SparkContext that custseg uses
    def parallelize(self, data, slices):
        return FakeJob(self)

    def addJobTag(self, tag):
        self.tags.append(tag)

    def removeJobTag(self, tag):
        self.tags.remove(tag)

    def setInterruptOnCancel(self, value):
        self.interrupt = value

    def cancelJobsWithTag(self, tag):
        self.cancelled_tags.append(tag)
        self.cancelled.set()

    def getConf(self):
        return {"spark.task.maxFailures": "8"}

    def statusTracker(self):
        busy = self.busy
        return type("Tracker", (), {"getActiveJobsIds": lambda self: [3] if busy else []})()

    def executor_count(self):
        return self.executors.pop(0) if len(self.executors) > 1 else self.executors[0]


class FakeSession:
    def __init__(self, sc):
        self.sparkContext = sc


@pytest.fixture
def counted(monkeypatch):
    """`executor_ids` reads the fake context's scripted counts: executors "0" .. "n-1"."""
    monkeypatch.setattr(watchdog, "executor_ids", lambda sc: ids(sc.executor_count()))


def ids(count: int) -> frozenset[str]:
    return frozenset(str(i) for i in range(count))


def _watchdog_threads():
    return [t for t in threading.enumerate() if t.name == "custseg-spark-watchdog" and t.is_alive()]


# --------------------------------------------------------------------------- (b), (c): the probe job


def test_no_executor_within_the_timeout_cancels_the_probe_in_one_line():
    sc = FakeContext(hang=True)
    started = time.monotonic()
    with pytest.raises(EngineError) as caught:
        check_executors(FakeSession(sc), MASTER, 0.2)
    assert time.monotonic() - started < 3
    assert str(caught.value) == (
        "no executor started within 0.2 s on spark://10.0.0.5:7077: the cluster has no free worker with the "
        "cores/memory asked (spark.executor.cores/memory); raise --spark-executor-timeout or free a worker")
    assert len(sc.cancelled_tags) == 1 and sc.cancelled_tags[0].startswith("custseg-probe-")
    assert sc.tags == [] and sc.interrupt is False          # the tag and the interrupt flag are undone


def test_executors_without_custseg():
    trace = ("An error occurred while calling o45.collect.\n: org.apache.spark.SparkException: Job aborted\n"
             "  File \"/usr/lib/python3/dist-packages/pyspark/cloudpickle/cloudpickle.py\", line 649, in subimport\n"
             "    __import__(name)\nModuleNotFoundError: No module named 'custseg'\n\tat org.apache.spark...")
    with pytest.raises(EngineError) as caught:
        check_executors(FakeSession(FakeContext(error=RuntimeError(trace))), MASTER, 120)
    assert str(caught.value) == (
        f"executors on spark://10.0.0.5:7077 cannot import custseg (ModuleNotFoundError: No module named "
        f"'custseg'): {INSTALL}")


def test_executors_with_another_custseg_or_python():
    sc = FakeContext(value=("0.0.9", (3, 11)))
    with pytest.raises(EngineError) as caught:
        check_executors(FakeSession(sc), MASTER, 120)
    assert str(caught.value) == (f"executors on spark://10.0.0.5:7077 run custseg 0.0.9, the driver custseg "
                                 f"{custseg.__version__}: {INSTALL}")
    assert sc.mapped is probes.probe_executor           # custseg's own function runs there
    mismatch = RuntimeError("[PYTHON_VERSION_MISMATCH] Python in worker has different version: 3.9 than that in "
                            "driver: 3.11, PySpark cannot run with different minor versions.")   # PySpark 4's text
    problem = executor_problem(Outcome("failed", error=mismatch), MASTER, 120, "python3")
    assert problem.startswith("executors on spark://10.0.0.5:7077 run Python 3.9 and the driver Python 3.11: "
                              "point PYSPARK_PYTHON (now python3) at a Python 3.11")


def test_executors_that_run_custseg_pass():
    sc = FakeContext(value=probes.probe_executor())
    check_executors(FakeSession(sc), MASTER, 120)
    assert sc.cancelled_tags == [] and sc.tags == []


def test_a_probe_that_fails_otherwise_says_so_in_one_line():
    error = RuntimeError("java.lang.OutOfMemoryError: Java heap space\n\tat ...")
    assert executor_problem(Outcome("failed", error=error), MASTER, 120, "python3") == (
        "the probe job on spark://10.0.0.5:7077 failed: java.lang.OutOfMemoryError: Java heap space")


# --------------------------------------------------------------------------- (a): not a master


class _WebUI(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<html>Spark Master at spark://127.0.0.1:7077</html>")

    def log_message(self, *args):
        pass


@pytest.fixture
def web_ui():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _WebUI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


class FakeBuilder:
    def __init__(self, *, error=None, block=None):
        self.error, self.block = error, block

    def getOrCreate(self):
        if self.block is not None:
            self.block.wait(10)
        if self.error is not None:
            raise self.error
        return "session"


def test_an_http_port_is_not_a_master_when_the_session_fails(web_ui):
    py4j = pytest.importorskip("py4j.protocol")
    master = f"spark://127.0.0.1:{web_ui}"
    error = py4j.Py4JError("An error occurred while calling None.org.apache.spark.api.java.JavaSparkContext")
    with pytest.raises(EngineError) as caught:
        session._started(FakeBuilder(error=error), master, "standalone", [("127.0.0.1", web_ui)])
    assert str(caught.value) == (f"{master} is not a Spark master (it answered HTTP: the web UI port? the master "
                                 f"URL is usually spark://HOST:7077)")


def test_an_http_port_is_not_a_master_when_the_session_does_not_start(web_ui, monkeypatch):
    monkeypatch.setattr(session, "MASTER_CHECK_S", 0.2)
    master = f"spark://127.0.0.1:{web_ui}"
    never = threading.Event()
    started = time.monotonic()
    with pytest.raises(EngineError, match=r"is not a Spark master \(it answered HTTP"):
        session._started(FakeBuilder(block=never), master, "standalone", [("127.0.0.1", web_ui)])
    assert time.monotonic() - started < 3
    never.set()


def test_a_master_that_is_slow_to_start_is_waited_for(monkeypatch):
    """No HTTP on the address: a slow start (a JVM on a busy machine) is not cut short."""
    pytest.importorskip("pyspark")
    monkeypatch.setattr(session, "MASTER_CHECK_S", 0.05)
    monkeypatch.setattr(session, "answers_http", lambda host, port: False)
    late = threading.Event()
    threading.Timer(0.3, late.set).start()
    assert session._started(FakeBuilder(block=late), MASTER, "standalone", [("10.0.0.5", 7077)]) == "session"


def test_a_java_error_at_start_is_one_line(monkeypatch):
    py4j = pytest.importorskip("py4j.protocol")
    monkeypatch.setattr(session, "answers_http", lambda host, port: False)
    error = py4j.Py4JError("An error occurred while calling None.JavaSparkContext.\nTrace:\n  at ...")
    with pytest.raises(EngineError) as caught:
        session._started(FakeBuilder(error=error), "yarn", "other", [])
    assert str(caught.value) == ("Spark could not start on yarn: An error occurred while calling "
                                 "None.JavaSparkContext.")


# --------------------------------------------------------------------------- never hang


def test_watchdog_cancels_after_the_timeout_without_executors():
    looks, cancels, warnings = iter([0, 1, 2, 3]), [], []
    dog = Watchdog(frozenset, lambda: True, lambda: cancels.append(1), timeout=2, master=MASTER,
                   on_warning=warnings.append, clock=looks.__next__)
    assert [dog.check(), dog.check()] == [False, False] and dog.failure is None and cancels == []
    assert dog.check() is True and cancels == [1]
    assert str(dog.failure) == ("no executor on spark://10.0.0.5:7077 for 2 s while a job waited for one (workers "
                                "lost or busy): the run stopped; restart a worker or raise --spark-executor-timeout")
    assert dog.check() is True and cancels == [1, 1]       # a job started after the first cancel is cancelled too
    assert warnings == []


def test_watchdog_executors_back_or_no_job_is_no_error():
    counts, busy = iter(map(ids, [2, 0, 0, 1, 0, 0])), iter([True, True, False, False])   # asked only with none
    clock, warnings = iter([0, 1, 3, 6, 20, 40]), []
    dog = Watchdog(counts.__next__, busy.__next__, lambda: pytest.fail("cancelled"), timeout=3,
                   master=MASTER, on_warning=warnings.append, max_failures="8", clock=clock.__next__)
    assert not any(dog.check() for _ in range(6))
    assert dog.failure is None and dog.lost == 3
    assert warnings == [
        "lost 2 executors on spark://10.0.0.5:7077: Spark runs its tasks again elsewhere (each task up to "
        "spark.task.maxFailures = 8 times)",
        "lost 1 executor on spark://10.0.0.5:7077: Spark runs its tasks again elsewhere (each task up to "
        "spark.task.maxFailures = 8 times)"]


def test_a_run_with_no_executor_stops_in_one_line_and_the_thread_ends(counted):
    sc = FakeContext(hang=True, executors=(1, 0))
    started = time.monotonic()
    with pytest.raises(EngineError, match=r"^no executor on spark://10.0.0.5:7077 for 0.3 s while a job waited"):
        with watched(FakeSession(sc), 0.3, poll=0.02):
            assert sc.tags and sc.interrupt
            sc.parallelize([0], 1).collect()          # waits until the watchdog cancels it
    assert 0.3 <= time.monotonic() - started < 3
    assert sc.cancelled_tags and sc.tags == [] and _watchdog_threads() == []


def test_a_watched_block_that_ends_well_stops_its_thread_and_warns_on_lost_executors(counted):
    sc, warnings = FakeContext(value=1, executors=(2, 2, 1)), []
    with watched(FakeSession(sc), 30, poll=0.01, on_warning=warnings.append) as dog:
        assert dog.alive
        deadline = time.monotonic() + 3
        while not warnings and time.monotonic() < deadline:
            time.sleep(0.01)
    assert not dog.alive and _watchdog_threads() == [] and sc.tags == [] and sc.cancelled_tags == []
    assert warnings[0].startswith("lost 1 executor on spark://10.0.0.5:7077")


def test_an_executor_replaced_between_two_looks_is_lost():
    """Executors are told apart by id: one lost and another started between two looks is a loss."""
    looks, warnings = iter([frozenset({"0"}), frozenset({"1"})]), []
    dog = Watchdog(looks.__next__, lambda: True, lambda: pytest.fail("cancelled"), timeout=5, master=MASTER,
                   on_warning=warnings.append, clock=iter([0, 1]).__next__)
    assert [dog.check(), dog.check()] == [False, False]
    assert dog.lost == 1 and warnings == [
        "lost 1 executor on spark://10.0.0.5:7077: Spark runs its tasks again elsewhere (each task up to "
        "spark.task.maxFailures = 4 times)"]


def test_an_executor_lost_between_two_watched_blocks_is_reported_by_the_second(monkeypatch):
    """While the driver fits its sample no block is watched: the next block starts from the
    executors the last one saw, and reports the one lost meanwhile (seen on a real cluster)."""
    sc = FakeContext(value=1)
    sc.now = frozenset({"0"})
    monkeypatch.setattr(watchdog, "executor_ids", lambda context: context.now)
    first, second = [], []
    with watched(FakeSession(sc), 30, poll=0.01, on_warning=first.append):
        pass
    sc.now = frozenset({"1"})              # executor 0's worker was killed, a new worker started 1
    with watched(FakeSession(sc), 30, poll=0.01, on_warning=second.append):
        deadline = time.monotonic() + 3
        while not second and time.monotonic() < deadline:
            time.sleep(0.01)
    assert first == [] and second == [
        "lost 1 executor on spark://10.0.0.5:7077: Spark runs its tasks again elsewhere (each task up to "
        "spark.task.maxFailures = 8 times)"]


def test_an_error_of_the_run_itself_passes_through(counted):
    with pytest.raises(ValueError, match="bad value"):
        with watched(FakeSession(FakeContext()), 30, poll=0.01):
            raise ValueError("bad value")
    assert _watchdog_threads() == []


def test_local_and_connect_sessions_are_not_watched():
    local = FakeContext()
    local.master = "local[2]"
    with watched(FakeSession(local), 1) as dog:
        assert dog is None and local.tags == []

    class Connect:
        @property
        def sparkContext(self):
            raise RuntimeError("[JVM_ATTRIBUTE_NOT_SUPPORTED] sparkContext is not supported in Spark Connect")

    with watched(Connect(), 1) as dog:
        assert dog is None


# --------------------------------------------------------------------------- the setting


def test_executor_timeout_setting():
    assert Settings().spark_executor_timeout == 120
    assert Settings(spark_executor_timeout=30).validated().spark_executor_timeout == 30
    for bad in (0, -5, float("nan"), "soon", True):
        with pytest.raises(SettingsError, match=r"^--spark-executor-timeout must be a number of seconds above 0"):
            Settings(spark_executor_timeout=bad).validated()


def test_executor_timeout_on_the_command_line(capsys, mall, tmp_path):
    from test_cli import one_line_error

    message = one_line_error(capsys, "run", mall, "--out", tmp_path, "--engine", "spark",
                             "--spark-executor-timeout", "0")
    assert message == "error: --spark-executor-timeout must be a number of seconds above 0, got 0.0"


# --------------------------------------------------------------------------- outputs


def test_parquet_folders_hold_part_files_sized_to_the_rows(spark, tmp_path):
    from custseg.engines.spark.customers import write_parquet_folder

    frame = spark.range(5000).repartition(6)
    write_parquet_folder(frame, tmp_path / "sized.parquet", rows=5000)
    write_parquet_folder(frame, tmp_path / "as_is.parquet")
    assert len(list((tmp_path / "sized.parquet").glob("part-*.parquet"))) == 1
    assert len(list((tmp_path / "as_is.parquet").glob("part-*.parquet"))) == 6
    assert spark.read.parquet(str(tmp_path / "sized.parquet")).count() == 5000
