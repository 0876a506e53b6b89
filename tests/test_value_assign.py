"""The value model of a run: ``--value-model``, the fitted value parameters in model.json,
and ``custseg assign`` scoring a new snapshot of a log with them, without refitting."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_cli import cli, one_line_error
from test_value_pipeline import FAST, _small_log

from custseg import segment
from custseg.errors import SettingsError
from custseg.settings import Settings


def test_value_model_option_picks_the_model_the_summary_names(capsys, tmp_path):
    path = tmp_path / "log.csv"
    _small_log().to_csv(path, index=False)
    code, _, err = cli(capsys, "run", path, "--kind", "transactions", "--algorithms", "kmeans", "--k", "2..3",
                       "--no-report", "--value-model", "bgnbd", "--out", tmp_path / "out")
    assert code == 0, err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["value"]["model"] == "bg/nbd" and summary["value"]["fit"]["model"] == "bg/nbd"
    assert summary["settings"]["value_model"] == "bgnbd"
    assert set(summary["value"]["fit"]["params"]) == {"r", "alpha", "a", "b"}
    segments = pd.read_csv(tmp_path / "out" / "segments.csv", dtype={"customer": str}).set_index("customer")
    # BG/NBD's known flaw: a one-time buyer is alive for sure, however long ago it bought.
    assert (segments.loc[[f"O{c}" for c in range(4)], "p_alive"] == 1.0).all()
    assert "--value-model must be one of mbgnbd, bgnbd, paretonbd, got 'lifetimes'" in one_line_error(
        capsys, "run", path, "--value-model", "lifetimes", "--out", tmp_path / "x")


def test_pareto_value_model_in_the_library():
    result = segment(_small_log(), kind="transactions", value_model="paretonbd", **FAST)
    assert result.summary["value"]["model"] == "pareto/nbd"
    assert set(result.summary["value"]["fit"]["params"]) == {"r", "alpha", "s", "beta"}
    with pytest.raises(SettingsError, match="--value-model must be one of"):
        Settings(value_model="mbg/nbd").validated()
