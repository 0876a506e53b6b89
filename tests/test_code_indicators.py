"""Issue 18, item 4: codes for missing describe segments, they do not decide them.

A 0/1 indicator of a code carried by 30% of the customers is a cliff that every
distance-based method splits on first; by default it is described in the profiles and
left out of the features, and a segment's name never leads with it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from custseg.explaining.profile import segment_name
from custseg.pipeline import segment
from custseg.preparing.clean import INDICATOR_NOT_CLUSTERED

RUN = {"stability_resamples": 3, "report": False}


def _bank(n_per: int = 100) -> pd.DataFrame:
    """Three real groups in age and balance; ``pdays`` is 999 ("never contacted") and
    ``contact`` is "unknown" on every third customer, across the groups."""
    rng = np.random.default_rng(7)
    centres = [(22, 1000), (45, 8000), (68, 15000)]
    age = np.concatenate([rng.normal(a, 2.0, n_per) for a, _ in centres]).round()
    balance = np.concatenate([rng.normal(b, b * 0.05, n_per) for _, b in centres]).round(2)
    n = 3 * n_per
    coded = np.arange(n) % 3 == 0                               # 100 of 300: 33%
    pdays = np.where(coded, 999, 1 + np.arange(n) % 20)
    contact = np.where(coded, "unknown", np.where(np.arange(n) % 2 == 0, "cellular", "telephone"))
    return pd.DataFrame({"client": [f"C{i:04d}" for i in range(n)], "age": age, "balance": balance,
                         "pdays": pdays, "contact": contact})


def test_indicators_are_described_not_clustered(tmp_path):
    path = tmp_path / "bank.csv"
    _bank().to_csv(path, index=False)
    result = segment(path, **RUN)
    roles = result.summary["columns"]
    assert result.summary["features"] == ["age", "balance", "pdays"]
    assert roles["not_clustered"] == {"pdays_is_999": INDICATOR_NOT_CLUSTERED,
                                      "contact_is_unknown": INDICATOR_NOT_CLUSTERED}
    assert result.summary["input"]["sentinels"]["pdays"][0]["indicator"] == "pdays_is_999"
    # the three real groups are found, not a split along the code
    sizes = sorted(s["size"] for s in result.summary["segments"])
    assert sizes == [100, 100, 100]
    for seg in result.summary["segments"]:
        assert "unknown" not in seg["name"] and "999" not in seg["name"]
        # every group holds a third of the never-contacted: the share is in the profile
        share = seg["profile"]["pdays_is_999"]["mean"]
        assert abs(share - 1 / 3) < 0.02, seg["profile"]["pdays_is_999"]


def test_indicators_clustered_when_asked_never_lead_a_name(tmp_path):
    path = tmp_path / "bank.csv"
    _bank().to_csv(path, index=False)
    result = segment(path, **{**RUN, "categoricals": "cluster"})
    assert result.summary["features"] == ["age", "balance", "pdays", "pdays_is_999", "contact_is_unknown",
                                          "contact"]
    for seg in result.summary["segments"]:
        assert not seg["name"].lower().startswith(("mostly", "seldom")), seg["name"]


def test_a_name_puts_codes_for_missing_last():
    top = [{"feature": "contact_is_unknown", "z": 2.0}, {"feature": "balance", "z": 1.5}]
    assert segment_name({"id": 0, "top_features": top}) == "High balance, mostly contact unknown"
    only_codes = [{"feature": "contact_is_unknown", "z": -1.2}]
    assert segment_name({"id": 3, "top_features": only_codes}) == "Segment 3: seldom contact unknown"
