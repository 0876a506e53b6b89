"""custseg's Kneedle (`custseg.segmenting.knee`) finds kneed's knees, without its imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from kneed import KneeLocator

from custseg.segmenting.knee import convex_knee, convex_knee_y


def _curves(seed: int = 0, count: int = 300):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.integers(3, 40))
        # decreasing convex-ish inertia curves with noise, ties and flat stretches
        steps = rng.exponential(1.0, n) * np.sort(rng.uniform(0.1, 3, n))[::-1]
        if rng.random() < 0.3:
            steps = np.round(steps, 1)
        yield np.arange(2, n + 2), np.cumsum(steps[::-1])[::-1]


@pytest.mark.parametrize("seed", [0, 1])
def test_inertia_knees_equal_kneed(seed):
    for x, y in _curves(seed):
        theirs = KneeLocator(list(x), list(y), curve="convex", direction="decreasing").knee
        assert convex_knee(list(x), list(y), "decreasing") == theirs


def test_k_distance_knees_equal_kneed():
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(3, 400))
        distances = np.sort(rng.gamma(rng.uniform(0.5, 4), 1.0, n) ** rng.uniform(1, 3))
        if rng.random() < 0.3:
            distances = np.round(distances, 1)
        x = np.arange(len(distances))
        theirs = KneeLocator(x, distances, curve="convex", direction="increasing").knee_y
        assert convex_knee_y(x, distances, "increasing") == theirs


def test_hand_made_curves():
    assert convex_knee([2, 3, 4, 5, 6], [100.0, 30.0, 20.0, 15.0, 12.0], "decreasing") == 3
    assert convex_knee([2, 3, 4], [3.0, 2.0, 1.0], "decreasing") is None          # a straight line
    assert convex_knee_y([0, 1, 2, 3], [1.0, 1.0, 1.0, 8.0], "increasing") == 1.0


def test_a_run_without_the_report_does_not_import_pyplot():
    code = ("import sys, numpy as np; from custseg.segmenting.scores import inertia_elbow; "
            "from custseg.segmenting.density import k_distance_eps; "
            "k_distance_eps(np.random.default_rng(0).normal(size=(200, 2)), 4); "
            "print('matplotlib.pyplot' in sys.modules, 'scipy.signal' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
