"""Drawing the report's figures into ``<img>`` tags, with a forked helper process where a CPU is free.

`render_figures` draws every figure of the run report (`FIGURES`); the figures are
independent, each drawn from the summary alone, and on small data they are most of a run's
time, so a forked helper draws some of them (`FIGURE_PROCESSES`). Who draws a figure does not
change its bytes.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import os
import struct

from .figures.catalog import FIGURES
from .figures.layout import figure_to_png

__all__ = [
    "FIGURE_PROCESSES", "FIGURE_TEXT", "HELPER_GRACE", "figure_img", "figure_png", "png_size", "render_figures",
]

#: (figure key, short title, alt text) in page order.
FIGURE_TEXT = {
    "segment_sizes": ("Segment sizes", "Bar chart of the number of customers in each segment"),
    "distributions": ("Distributions", "Histograms with density curves of each numeric column"),
    "correlation": ("Correlations", "Heat map of the correlations between numeric columns"),
    "pairs": ("Pair plot", "Grid of scatter plots of pairs of numeric columns, coloured by segment"),
    "scree": ("Explained variance", "Bar chart of the variance explained by each principal component, "
              "with the cumulative share as a line"),
    "loadings": ("Loadings", "Heat map of the weight of each input column in each principal component"),
    "elbow": ("Elbow", "Line chart of inertia against the number of segments, knee marked"),
    "scores": ("Scores by k", "Silhouette, Calinski-Harabasz and Davies-Bouldin scores against k"),
    "dendrogram": ("Dendrogram", "Ward dendrogram with the cut for the chosen number of segments"),
    "k_distance": ("k-distance", "Sorted k-nearest-neighbour distances with the DBSCAN eps line"),
    "silhouette": ("Silhouette plot", "Silhouette value of each sampled customer, by segment"),
    "stability": ("Segment stability", "Bar chart of each segment's stability (Jaccard) under resampling"),
    "segment_map": ("Segment map", "Scatter plot of customers on two principal components, by segment"),
    "profile_heatmap": ("Profile heat map", "Heat map of each segment's z-score on each numeric feature"),
    "profile_lines": ("Profile lines", "Line chart of each segment's z-score on each numeric feature"),
    "boxplots": ("Features by segment", "Box plots of each numeric feature within each segment"),
    "categories": ("Categorical make-up", "Stacked bars of the share of each category level in each segment"),
    "rfm_sizes": ("RFM segment sizes", "Bar chart of the number of customers in each RFM segment"),
    "rfm_crosswalk": ("Crosswalk", "Heat map of how many customers of each RFM segment fall in each cluster"),
    "value_p_alive": ("P(alive) matrix", "Heat map of the mean probability of being alive by repeat purchases "
                      "and recency"),
    "value_purchases": ("Expected purchases matrix", "Heat map of the mean expected purchases by repeat "
                        "purchases and recency"),
    "value_tracking_cumulative": ("Holdout: cumulative purchases", "Line chart of the cumulative repeat purchases "
                                  "made and forecast by the model, the cut before the holdout marked"),
    "value_tracking_weekly": ("Holdout: weekly purchases", "Line chart of the repeat purchases per week made and "
                              "forecast by the model, the cut before the holdout marked"),
    "value_by_frequency": ("Holdout by frequency", "Bar chart of the mean holdout purchases made and forecast, "
                           "by repeat purchases before the cut"),
}

def render_figures(summary: dict) -> dict:
    """Draw every report figure; return ``{key: <img> markup or None}`` in page order.

    ``None`` marks a figure whose data does not apply to this run (no dendrogram when
    hierarchical clustering was not tried, ...).
    """
    with _young_garbage_only():
        pngs = _draw_figures(summary)
    figures = {}
    for key, _function in FIGURES:
        png = pngs[key]
        figures[key] = None if png is None else figure_img(png, key, FIGURE_TEXT.get(key, (key, key))[1])
    return figures


def figure_img(png: bytes, key: str, alt: str):
    """The ``<img>`` tag of a figure: the PNG inline (base64), its size, its alt text, marked safe.

    Examples
    --------
    >>> import struct
    >>> png = bytes(16) + struct.pack(">II", 640, 480)
    >>> img = str(figure_img(png, "sizes", "Bars & more"))
    >>> img.startswith('<img src="data:image/png;base64,'), img.partition('" ')[2]
    (True, 'width="640" height="480" style="--w: 640px" alt="Bars &amp; more" data-test="figure-sizes">')
    """
    from markupsafe import Markup, escape

    width, height = png_size(png)
    return Markup(
        f'<img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" '
        f'width="{width}" height="{height}" style="--w: {width}px" alt="{escape(alt)}" '
        f'data-test="figure-{escape(key)}">'
    )


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels of a PNG, read from its header.

    Examples
    --------
    >>> import struct
    >>> png_size(bytes(16) + struct.pack(">II", 640, 480))
    (640, 480)
    """
    width, height = struct.unpack(">II", png[16:24])
    return width, height


#: Processes that draw the report's figures: this one and, where `_helper_allowed`, one
#: forked helper. Set it to 1 to draw every figure in this process.
FIGURE_PROCESSES = 2

#: Seconds the helper may still take once this process has drawn its share (or twice the
#: time that share took, if longer) before it is given up on and its figures drawn here.
HELPER_GRACE = 10.0


def _draw_figures(summary: dict) -> dict:
    """{figure key: PNG bytes, or None where the figure does not apply}, in `FIGURES` order.

    The figures are independent, each drawn from the summary alone, and they were most of
    a small run's time; so, with a second CPU, a forked helper draws some of them
    (`_draw_with_helper`). Who draws a figure does not change its bytes, and any figure
    the helper does not deliver (it failed, or took far too long) is drawn here: the
    result never depends on the helper.
    """
    keys = [key for key, _function in FIGURES]
    drawn: dict = {}
    if FIGURE_PROCESSES > 1 and 1 < len(keys) < 256 and _helper_allowed():
        drawn = _draw_with_helper(summary, len(keys))
    functions = dict(FIGURES)
    for key in keys:
        if key not in drawn:
            drawn[key] = figure_png(functions[key], summary)
    return {key: drawn[key] for key in keys}


def figure_png(function, summary: dict) -> bytes | None:
    """PNG bytes of the figure that ``function`` draws from ``summary``, or None where it does not apply."""
    fig = function(summary)
    return None if fig is None else figure_to_png(fig)


def _helper_allowed() -> bool:
    """Whether to fork a helper: on Linux, with a CPU to spare for it.

    That is two CPUs or more for this process, and a load average (last minute) that
    leaves at least half a CPU idle: on a machine already busy, the helper only competes
    with this process (and the fork's copy-on-write costs about a tenth more CPU time in
    all). Measured on 2 CPUs: at a load of 1.5 the helper halved the figures' time, at 1.9
    it lengthened it by a tenth.
    """
    import sys

    if sys.platform != "linux" or not hasattr(os, "fork"):
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
        return cpus >= 2 and os.getloadavg()[0] <= cpus - 0.5
    except OSError:
        return False


def _take_figures(summary: dict, queue: int) -> dict:
    """Draw the figures whose numbers come, one byte each, from the ``queue`` pipe, until it is empty."""
    drawn = {}
    while job := os.read(queue, 1):
        key, function = FIGURES[job[0]]
        drawn[key] = figure_png(function, summary)
    return drawn


def _draw_with_helper(summary: dict, n_figures: int) -> dict:
    """Draw figures here and in a forked helper; return {key: PNG or None} of those drawn.

    Both processes take figure numbers from one queue (a pipe; a one-byte read is atomic)
    until it is empty, so the work shares itself out. The helper pickles its PNGs into a
    second pipe and leaves with `os._exit` (no clean-up, no flushing of inherited buffers,
    no return into the caller's code). It only draws with Matplotlib and writes to its
    pipe; the one lock that drawing takes (Matplotlib's, shared by all figures) is held
    here across the fork, so that no other thread of this process can hold it then. Its
    reply is used only if complete; a helper still busy long after this process is done
    is killed. Returns {} (all figures are then drawn here) when the fork itself fails.
    """
    import pickle
    import select
    import signal
    import time
    import warnings

    from matplotlib.figure import Figure

    queue_read, queue_write = os.pipe()
    os.write(queue_write, bytes(range(n_figures)))
    os.close(queue_write)  # the queue is at its end (EOF) once every number is taken
    reply_read, reply_write = os.pipe()
    try:
        with getattr(Figure, "_render_lock", contextlib.nullcontext()), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # (3.12+: forking while threads run)
            pid = os.fork()
    except OSError:
        for fd in (queue_read, reply_read, reply_write):
            os.close(fd)
        return {}
    if pid == 0:  # the helper
        status = 1
        try:
            os.close(reply_read)
            payload = memoryview(pickle.dumps(_take_figures(summary, queue_read), protocol=5))
            while payload:
                payload = payload[os.write(reply_write, payload):]
            status = 0
        finally:
            os._exit(status)
    os.close(reply_write)
    chunks: list[bytes] = []
    complete = False
    status = None
    try:
        started = time.monotonic()
        drawn = _take_figures(summary, queue_read)
        deadline = time.monotonic() + max(HELPER_GRACE, 2 * (time.monotonic() - started))
        while (left := deadline - time.monotonic()) > 0 and select.select([reply_read], [], [], left)[0]:
            chunk = os.read(reply_read, 1 << 20)
            if not chunk:
                complete = True
                break
            chunks.append(chunk)
    finally:
        os.close(queue_read)
        os.close(reply_read)
        if not complete:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):  # (already reaped if SIGCHLD is ignored)
            status = os.waitpid(pid, 0)[1]
    if complete and status in (0, None):
        with contextlib.suppress(Exception):  # a garbled reply: those figures are drawn here
            reply = pickle.loads(b"".join(chunks))
            drawn.update({key: png for key, png in reply.items() if key not in drawn})
    return drawn


@contextlib.contextmanager
def _young_garbage_only():
    """While figures are drawn, let the garbage collector look at new objects only, and less often.

    Drawing makes many objects in reference cycles (a figure and its artists point at each
    other), which set off collections; each full one walked every object of the process
    (pandas, scikit-learn, ...), and they took about a fifth of the report's time. Objects
    older than the report are set aside (`gc.freeze`) and collections of the young ones
    come less often; both are undone afterwards. Nothing is changed if the caller froze
    objects itself.
    """
    if gc.get_freeze_count() or not gc.isenabled():
        yield
        return
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], 20_000), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
