"""Tests for custseg.segmenting.assign: the nearest-centre rule and the nearest-reference-point rule."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

import custseg.segmenting.assign as assign
from custseg.segmenting.assign import Assigner, nearest_centre


@pytest.mark.parametrize("k", [1, 2, 5, 16, 17, 50])
def test_nearest_centre_equals_the_nearest_by_distance(k, monkeypatch):
    monkeypatch.setattr(assign, "_CHUNK", 1000)              # several blocks
    rng = np.random.default_rng(k)
    matrix = rng.normal(0, 1, (5000, 8))
    centres = rng.normal(0, 1, (k, 8))
    np.testing.assert_array_equal(nearest_centre(matrix, centres), cdist(matrix, centres).argmin(axis=1))


@pytest.mark.parametrize("k", [4, 40])
def test_ties_go_to_the_lowest_centre(k):
    # Centres repeat (0, 0), (1, 1): every row is as near to a repeat as to the first copy.
    centres = np.array([[0.0, 0.0], [1.0, 1.0]] * (k // 2))
    matrix = np.array([[0.0, 0.0], [1.0, 1.0], [0.2, 0.1], [5.0, 5.0]])
    assert nearest_centre(matrix, centres).tolist() == [0, 1, 0, 1]


def test_nearest_reference_point_and_the_radius_edge():
    points = np.array([[0.0, 0.0], [10.0, 0.0]])
    assigner = Assigner("nearest", points, np.array([3, 7]), radius=1.5)
    matrix = np.array([[1.5, 0.0], [np.nextafter(1.5, 2.0), 0.0], [5.0, 0.0], [9.0, 0.5], [10.0, -1.5]])
    # exactly at the radius is in; a hair beyond it, or far from both, is noise
    assert assigner.predict(matrix).tolist() == [3, -1, -1, 7, 7]
    unbounded = Assigner("nearest", points, np.array([3, 7]))
    assert unbounded.predict(matrix).tolist() == [3, 3, 3, 7, 7]


@pytest.mark.parametrize("radius", [None, 0.05, 0.4, 3.0])
def test_nearest_reference_point_equals_the_unbounded_single_thread_search(radius):
    rng = np.random.default_rng(9)
    points = rng.normal(0, 1, (800, 3))
    labels = rng.integers(-1, 6, 800)
    matrix = np.vstack([rng.normal(0, 1.5, (20_000, 3)), points[:50]])
    distance, nearest = cKDTree(points).query(matrix, k=1)
    expected = labels[nearest].astype("int64")
    if radius is not None:
        expected[distance > radius] = -1
    got = Assigner("nearest", points, labels, radius=radius).predict(matrix)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.int64


def test_a_version_1_model_file_still_assigns(tmp_path):
    """Version 2 only adds cleaning rules; a version-1 file (without them) reads as before."""
    import json

    from custseg import generate_customers, load_model, segment

    customers, _ = generate_customers(300, 3, random_state=2)
    result = segment(customers, algorithms=("kmeans",), k_max=4)
    data = result.model.to_dict()
    assert data["format_version"] == 2
    data["format_version"] = 1
    for key in ("missing_codes", "derived", "indicators"):
        data["cleaning"].pop(key)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data))
    np.testing.assert_array_equal(load_model(path).assign(customers)[1], result.labels)
