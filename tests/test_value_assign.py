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


# --------------------------------------------------------------------------- model.json and assign

VALUE_COLUMNS = ["p_alive", "expected_purchases", "expected_value_per_purchase", "clv", "year_spend"]


@pytest.fixture(scope="module")
def fitted_run(tmp_path_factory):
    """The small log as a file, and a run of it written to a folder (model.json, segments.csv)."""
    folder = tmp_path_factory.mktemp("value_run")
    path = folder / "log.csv"
    _small_log().to_csv(path, index=False)
    result = segment(path, kind="transactions", **FAST)
    result.write(folder / "out")
    return path, folder / "out", result


def _refuse_constants(name):
    raise AssertionError(f"model.json holds {name}: not plain JSON")


def test_model_file_keeps_the_value_parameters_as_plain_json(fitted_run):
    _, out, result = fitted_run
    data = json.loads((out / "model.json").read_text(), parse_constant=_refuse_constants)
    value = data["value"]
    summary = result.summary["value"]
    assert value["model"] == summary["model"] == "mbg/nbd"
    # Full precision (the summary shows them rounded), so that assign reproduces the run.
    assert value["params"] == result.value.fit.params.to_dict()
    assert value["params"] == pytest.approx(summary["fit"]["params"], rel=1e-5)
    assert value["spend"] == result.value.spend.params.to_dict() and value["observed_value"] is None
    assert (value["money"], value["horizon"], value["horizon_days"], value["discount"]) == (True, "12m", 365.25, 0.1)
    assert (value["time_unit_days"], value["year_days"]) == (7.0, 365)
    assert data["format_version"] == 2      # an older custseg assigns the segments right and ignores value


def test_assign_on_the_fitted_log_reproduces_the_runs_value_columns(capsys, fitted_run, tmp_path):
    log, out, result = fitted_run
    code, stdout, err = cli(capsys, "assign", out / "model.json", log, "--out", tmp_path / "assigned.csv")
    assert code == 0, err
    as_of = result.transactions.as_of.isoformat()
    assert f"customer value scored with the model's MBG/NBD and Gamma-Gamma parameters as of {as_of}" in " ".join(stdout.split())
    assigned = pd.read_csv(tmp_path / "assigned.csv", dtype={"customer": str}).set_index("customer")
    run = pd.read_csv(out / "segments.csv", dtype={"customer": str}).set_index("customer")
    assert assigned.columns.tolist() == ["segment", "segment_name", *VALUE_COLUMNS]
    assert len(run) == 162 and set(run.index) <= set(assigned.index)
    pd.testing.assert_frame_equal(assigned.loc[run.index, VALUE_COLUMNS], run[VALUE_COLUMNS])
    assert (assigned.loc[run.index, "segment"] == run["segment"]).all()


def test_a_later_snapshot_is_scored_with_the_stored_parameters(fitted_run):
    log, _, result = fitted_run
    model = result.model
    lines = pd.read_csv(log, dtype={"customer": str})
    later = pd.concat([lines, pd.DataFrame({"customer": ["E0"], "date": ["2025-02-01"], "amount": [50.0]})])
    before = model.value_scores(model.transaction_features(lines, as_of="2025-03-01")).set_axis(
        model.transaction_features(lines, as_of="2025-03-01").customers["customer"])
    after = model.value_scores(model.transaction_features(later, as_of="2025-03-01")).set_axis(
        model.transaction_features(later, as_of="2025-03-01").customers["customer"])
    # E0 bought on 2 January, 9 and 16 January 2024 and again on 1 February 2025: by hand,
    # x = 3 repeat purchases, t_x = 396 days and T = 424 days (to 1 March 2025), in weeks.
    from custseg.valuing.models import GammaGammaParams, ModifiedBetaGeoParams

    stored = model.value
    params = ModifiedBetaGeoParams(**stored.params)
    assert after.loc["E0", "p_alive"] == pytest.approx(float(params.p_alive(3, 396 / 7, 424 / 7)), rel=1e-12)
    assert before.loc["E0", "p_alive"] == pytest.approx(float(params.p_alive(2, 14 / 7, 424 / 7)), rel=1e-12)
    assert after.loc["E0", "p_alive"] > 0.5 > before.loc["E0", "p_alive"]
    # Its value per purchase: Gamma-Gamma's shrinkage of its mean repeat value: the first
    # purchase (40) left out, (50 + 60 + 50) / 3.
    mean = (50.0 + 60.0 + 50.0) / 3
    assert after.loc["E0", "expected_value_per_purchase"] == pytest.approx(
        float(GammaGammaParams(**stored.spend).expected_value(3, mean)), rel=1e-12)
    assert after.loc["E0", "year_spend"] == 50.0 and before.loc["E0", "year_spend"] == 0.0
    # Nobody else changed: the same histories give the same scores.
    others = before.index.drop("E0")
    pd.testing.assert_frame_equal(after.loc[others], before.loc[others])
    # Without a new purchase a customer ages: a loyal buyer is a little less likely alive later.
    at_run = result.segments_frame().set_index("customer")
    assert before.loc["L0", "p_alive"] < at_run.loc["L0", "p_alive"]


def test_value_parameters_that_are_not_numbers_are_refused_in_one_line(capsys, fitted_run, tmp_path):
    log, out, _ = fitted_run
    data = json.loads((out / "model.json").read_text())
    for field, value in (("r", -1.0), ("alpha", float("nan"))):
        broken = {**data, "value": {**data["value"], "params": {**data["value"]["params"], field: value}}}
        path = tmp_path / f"model-{field}.json"
        path.write_text(json.dumps(broken))
        message = one_line_error(capsys, "assign", path, log, "--out", tmp_path / "a.csv")
        assert f"model file {path}: value.params.{field} must be a positive finite number, got" in message
    spend = {**data, "value": {**data["value"], "spend": {"p": 1.0, "q": 2.0}}}
    (tmp_path / "model-spend.json").write_text(json.dumps(spend))
    assert "value.spend must hold p, q, gamma" in one_line_error(
        capsys, "assign", tmp_path / "model-spend.json", log, "--out", tmp_path / "a.csv")


def test_a_model_file_without_value_still_assigns_and_says_so(capsys, fitted_run, tmp_path):
    log, out, result = fitted_run
    data = json.loads((out / "model.json").read_text())
    del data["value"]                                   # as written before the value parameters
    path = tmp_path / "old-model.json"
    path.write_text(json.dumps(data))
    code, stdout, err = cli(capsys, "assign", path, log, "--out", tmp_path / "assigned.csv")
    assert code == 0, err
    assert f"customer value not scored: {path} has no fitted value parameters" in " ".join(stdout.split())
    assigned = pd.read_csv(tmp_path / "assigned.csv")
    assert assigned.columns.tolist() == ["customer", "segment", "segment_name"]


@pytest.mark.parametrize("kind", ["same amount every time", "no money"])
def test_model_value_reproduces_a_run_without_gamma_gamma(kind):
    log = _small_log(with_money=kind != "no money")
    if kind == "same amount every time":
        log["amount"] = 25.0            # Gamma-Gamma cannot fit: each customer's own mean stands in
    result = segment(log, kind="transactions", **FAST)
    model = result.model
    stored = model.value
    assert stored.spend is None and stored.money == (kind != "no money")
    assert stored.observed_value == (25.0 if stored.money else None)
    scores = model.value_scores(model.transaction_features(log))
    frame = result.segments_frame()
    assert len(scores) == len(frame) == 162
    pd.testing.assert_frame_equal(scores[VALUE_COLUMNS], frame[VALUE_COLUMNS])
    if stored.money:
        assert (frame["expected_value_per_purchase"] == 25.0).all()
    else:
        assert frame["clv"].isna().all() and frame["p_alive"].notna().all()
