"""A run on a cluster never waits for ever: a watchdog over its Spark jobs.

Spark waits without end, and says nothing at custseg's log level, when a job has no
executor (every worker lost or busy). `watched` tags the jobs a block of the run starts and
starts a `Watchdog` (a daemon thread) that, every `POLL_S` seconds, counts the executors:

* no executor while a job runs, for ``spark_executor_timeout`` seconds: it cancels the
  run's jobs, and the block raises one `custseg.errors.EngineError` line;
* executors gone since the last look: one warning line (how many were lost, and Spark's
  retry setting ``spark.task.maxFailures``) through ``on_warning``, instead of Spark's log.
  Executors are told apart by their ids, so one lost and another started between two looks
  counts as lost; and the ids seen when a watched block ended are where the next block of the
  same context starts from, so an executor lost between two blocks (while the driver fits
  the sample) is reported by the next one.

The thread stops when the block ends. ``local[N]`` (the driver is the executor) and Spark
Connect (no SparkContext on the client) are not watched.
"""

from __future__ import annotations

import threading
import time
import uuid
import weakref
from contextlib import contextmanager

from ...errors import EngineError

__all__ = ["POLL_S", "Watchdog", "executor_ids", "watched"]

#: Seconds between two looks at the cluster.
POLL_S = 2.0
#: Spark's default for ``spark.task.maxFailures``.
DEFAULT_MAX_FAILURES = "4"


#: The executor ids the last watched block of a SparkContext saw when it ended.
_LAST_SEEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def executor_ids(sc) -> frozenset[str]:
    """Ids of the executors registered with a cluster SparkContext (the driver not among them;
    a new executor gets a new id)."""
    text = str(sc._jsc.sc().getExecutorIds().mkString("\n"))
    return frozenset(line for line in text.split("\n") if line)


def lost_text(lost: int, master: str, max_failures: str) -> str:
    """The warning line for executors lost during a run.

    Examples
    --------
    >>> lost_text(1, "spark://h:7077", "4")
    'lost 1 executor on spark://h:7077: Spark runs its tasks again elsewhere (each task up to spark.task.maxFailures = 4 times)'
    """
    executors = "executor" if lost == 1 else "executors"
    return (f"lost {lost} {executors} on {master}: Spark runs its tasks again elsewhere "
            f"(each task up to spark.task.maxFailures = {max_failures} times)")


def stalled_text(timeout: float, master: str) -> str:
    """The error line for a run that had no executor for ``timeout`` seconds.

    Examples
    --------
    >>> stalled_text(120, "spark://h:7077")[:62]
    'no executor on spark://h:7077 for 120 s while a job waited for'
    """
    return (f"no executor on {master} for {timeout:g} s while a job waited for one (workers lost or busy): "
            f"the run stopped; restart a worker or raise --spark-executor-timeout")


class Watchdog:
    """Counts executors every ``poll`` seconds; cancels the run's jobs when none has been
    there for ``timeout`` seconds while a job runs, and warns when executors are lost.

    Parameters
    ----------
    executors : callable
        ``executors()`` -> the ids of the executors now (a set).
    busy : callable
        ``busy()`` -> whether a job is running (or waiting for an executor).
    cancel : callable
        Cancels the run's jobs.
    timeout : float
        Seconds without an executor, while busy, before ``cancel``.
    master : str
        For the messages.
    on_warning : callable, optional
        Called with one line when executors are lost.
    max_failures : str
        Spark's ``spark.task.maxFailures``, for the warning.
    poll : float
        Seconds between two looks.
    clock : callable
        Seconds, monotonic (a test gives its own).
    seen : set, optional
        The executor ids seen before the first look (those of an earlier watched block).

    Examples
    --------
    >>> dog = Watchdog(set, lambda: True, lambda: None, timeout=10, master="m", clock=iter([0, 11]).__next__)
    >>> dog.check(), dog.check(), dog.failure is not None
    (False, True, True)
    """

    def __init__(self, executors, busy, cancel, *, timeout: float, master: str, on_warning=None,
                 max_failures: str = DEFAULT_MAX_FAILURES, poll: float = POLL_S, clock=time.monotonic,
                 seen=None):
        self.executors, self.busy, self.cancel = executors, busy, cancel
        self.timeout, self.master, self.poll, self.clock = float(timeout), master, float(poll), clock
        self.on_warning = on_warning or (lambda line: None)
        self.max_failures = max_failures
        self.failure: EngineError | None = None
        self.lost = 0
        self.seen: frozenset | None = None if seen is None else frozenset(seen)
        self._empty_since: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """One look: warn on lost executors; True (and ``cancel()``) when the run must stop."""
        now, executors = self.clock(), frozenset(self.executors())
        gone = len(self.seen - executors) if self.seen is not None else 0
        if gone:
            self.lost += gone
            self.on_warning(lost_text(gone, self.master, self.max_failures))
        self.seen = executors
        if executors or not self.busy():
            self._empty_since = None
            return self.failure is not None
        if self._empty_since is None:
            self._empty_since = now
        if now - self._empty_since >= self.timeout:
            if self.failure is None:
                self.failure = EngineError(stalled_text(self.timeout, self.master))
            self.cancel()              # again at every look: a job started after the first cancel
            return True
        return False

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:          # the context is stopping or gone: nothing left to watch
                return
            self._stop.wait(self.poll)

    def start(self) -> Watchdog:
        self._thread = threading.Thread(target=self._run, name="custseg-spark-watchdog", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and wait for it (at most one look's time)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def _cluster_context(spark):
    """The SparkContext of a session on a cluster master, or None (local, Spark Connect)."""
    try:
        sc = spark.sparkContext
        master = str(sc.master)
    except Exception:          # Spark Connect: no SparkContext on the client
        return None
    return None if master.startswith("local") else sc


@contextmanager
def watched(spark, timeout: float, *, on_warning=None, poll: float = POLL_S):
    """Watch the Spark jobs this block starts (see the module docstring).

    Yields the `Watchdog` (None for a session that is not watched). An exception from the
    block, after the watchdog cancelled the jobs, becomes the watchdog's one line.

    Examples
    --------
    >>> with watched(spark, 120, on_warning=warnings.append):  # doctest: +SKIP
    ...     customers.count()
    """
    sc = _cluster_context(spark)
    if sc is None:
        yield None
        return
    tag = f"custseg-run-{uuid.uuid4().hex[:10]}"
    dog = Watchdog(lambda: executor_ids(sc), lambda: bool(sc.statusTracker().getActiveJobsIds()),
                   lambda: sc.cancelJobsWithTag(tag), timeout=timeout, master=str(sc.master),
                   on_warning=on_warning, poll=poll,
                   max_failures=sc.getConf().get("spark.task.maxFailures", DEFAULT_MAX_FAILURES),
                   seen=_LAST_SEEN.get(sc))
    with tagged(sc, tag):
        dog.start()
        try:
            yield dog
        except Exception:
            if dog.failure is not None:
                raise dog.failure from None
            raise
        finally:
            dog.stop()
            if dog.seen is not None:
                _LAST_SEEN[sc] = dog.seen
    if dog.failure is not None:
        raise dog.failure


@contextmanager
def tagged(sc, tag: str):
    """Jobs started in this block carry ``tag`` and are interrupted when cancelled."""
    sc.addJobTag(tag)
    sc.setInterruptOnCancel(True)
    try:
        yield
    finally:
        sc.removeJobTag(tag)
        sc.setInterruptOnCancel(False)
