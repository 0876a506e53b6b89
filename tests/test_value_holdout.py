"""The holdout check of the value model in every log run (issue 20, items 3 and 4):
the split and its counts by hand, the published CDNOW check through a run, the automatic
length and its skips, the verdict and its reasons, the report's figures, determinism."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest
from test_value_pipeline import FAST, _small_log

from custseg import segment
from custseg.errors import SettingsError
from custseg.logs.duckdb_engine import customers_from_transactions
from custseg.settings import Settings, parse_holdout
from custseg.valuing.holdout import holdout_check
from custseg.valuing.models import TRANSACTION_MODELS
from custseg.valuing.verdict import FIT_CORRELATION, FIT_ERROR_PCT

# --------------------------------------------------------------------------- a log by hand

#: Three kinds of customers, twenty of each, and five who first buy in the holdout.
#: With the reference date 2024-03-31 and a 4-week holdout the cut is 2024-03-03:
#:   A: 01-07, 01-14, 02-04 | 03-10, 03-24        x = 2, t_x = 4 weeks, T = 8 weeks, 2 in the holdout
#:   B: 01-21 | 03-17                              x = 0, t_x = 0, T = 6 weeks, 1 in the holdout
#:   C: 02-11, 02-18, 02-18 (one day), 02-25 |     x = 2, t_x = 2 weeks, T = 3 weeks, none in the holdout
#:   D: | 03-10                                    new in the holdout: not forecast
HAND_DAYS = {
    "A": ["2024-01-07", "2024-01-14", "2024-02-04", "2024-03-10", "2024-03-24"],
    "B": ["2024-01-21", "2024-03-17"],
    "C": ["2024-02-11", "2024-02-18", "2024-02-18", "2024-02-25"],
}
HAND_AS_OF = "2024-03-31"


def _hand_log() -> pd.DataFrame:
    rows = [(f"{kind}{i:02d}", day, 10.0 + i) for kind, days in HAND_DAYS.items() for i in range(20) for day in days]
    rows += [(f"D{i}", "2024-03-10", 5.0) for i in range(5)]
    return pd.DataFrame(rows, columns=["customer", "date", "amount"])


@pytest.fixture(scope="module")
def hand_check():
    found = customers_from_transactions(_hand_log(), as_of=HAND_AS_OF)
    return holdout_check(found.purchases, found.as_of, option="4w", length=parse_holdout("4w"))


def test_the_hand_log_splits_at_the_cut_with_the_customers_who_bought_before_it(hand_check):
    assert hand_check["calibration_end"] == "2024-03-03"
    assert hand_check["observation_end"] == HAND_AS_OF
    assert hand_check["holdout_days"] == 28
    assert hand_check["customers"] == 60 and hand_check["new_in_holdout"] == 5
    # A: 2 each, B: 1 each, C: none.
    assert hand_check["actual_purchases"] == 20 * 2 + 20 * 1


def test_the_hand_log_counts_repeat_purchases_week_by_week(hand_check):
    weeks = hand_check["weeks"]
    assert weeks["cut"] == "2024-03-03"
    assert weeks["week_end"] == [
        "2024-01-07", "2024-01-14", "2024-01-21", "2024-01-28", "2024-02-04", "2024-02-11", "2024-02-18",
        "2024-02-25", "2024-03-03", "2024-03-10", "2024-03-17", "2024-03-24", "2024-03-31"]
    # Repeat purchases only (a first purchase is not one): A on 01-14, 02-04, 03-10, 03-24;
    # B on 03-17; C on 02-18 and 02-25 (two lines on 02-18 are one purchase).
    assert weeks["weekly_actual"] == [0, 20, 0, 0, 20, 0, 20, 20, 0, 20, 20, 20, 0]
    assert weeks["cumulative_actual"] == [0, 20, 20, 20, 40, 40, 60, 80, 80, 100, 120, 140, 140]


def test_the_hand_log_compares_holdout_purchases_by_calibration_frequency(hand_check):
    by_frequency = hand_check["by_frequency"]
    # B bought once before the cut (x = 0) and once after; A and C (x = 2) twice and never.
    assert by_frequency["frequency"] == ["0", "2"]
    assert by_frequency["customers"] == [20, 40]
    assert by_frequency["actual"] == [1.0, 1.0]


def test_the_hand_log_forecasts_are_the_fitted_models_formulas(hand_check):
    params = TRANSACTION_MODELS["mbg/nbd"](**hand_check["fit"]["params"])
    # Per customer given the history at the cut, over the next 4 weeks: 20 of each kind.
    x, t_x, T = np.array([2.0, 0.0, 2.0]), np.array([4.0, 0.0, 2.0]), np.array([8.0, 6.0, 3.0])
    per_kind = params.expected_purchases(4.0, x, t_x, T)
    assert hand_check["predicted_purchases"] == pytest.approx(20 * per_kind.sum(), rel=1e-9)
    assert hand_check["by_frequency"]["predicted"] == pytest.approx(
        [per_kind[1], (per_kind[0] + per_kind[2]) / 2], rel=1e-9)
    # The tracking forecast at the reference date: each customer's repeat purchases since its
    # first purchase (ages 12, 10 and 7 weeks), against the 140 made.
    cumulative = 20 * params.expected_purchases_new(np.array([12.0, 10.0, 7.0])).sum()
    assert hand_check["weeks"]["cumulative_predicted"][-1] == pytest.approx(cumulative, rel=1e-9)
    assert hand_check["cumulative_error_pct"] == pytest.approx(100 * (cumulative / 140 - 1), rel=1e-9)
    actual = np.repeat([2.0, 1.0, 0.0], 20)
    predicted = np.repeat(per_kind, 20)
    assert hand_check["correlation"] == pytest.approx(np.corrcoef(predicted, actual)[0, 1], rel=1e-9)


# --------------------------------------------------------------------------- lengths and skips


def test_auto_skips_a_short_log_and_says_how_long_it_is():
    lines = pd.DataFrame({"customer": ["a", "a", "b", "b"],
                          "date": ["2024-01-01", "2024-02-01", "2024-01-15", "2024-03-01"]})
    found = customers_from_transactions(lines)
    check = holdout_check(found.purchases, found.as_of)
    # 2024-01-01 to 2024-03-02 (the day after the last line): 61 days, under the 24 weeks auto needs.
    assert check == {"skipped": "the log spans 61 days (9 weeks); the automatic holdout needs at least 24 weeks"}


def test_a_given_holdout_longer_than_half_the_log_is_skipped_with_both_lengths():
    found = customers_from_transactions(_hand_log(), as_of=HAND_AS_OF)
    check = holdout_check(found.purchases, found.as_of, option="8w", length=56.0)
    # 2024-01-07 to 2024-03-31: 84 days, 12 weeks, under twice 8 weeks.
    assert check == {"skipped": "the log spans 84 days (12 weeks), less than twice the 8w holdout (56 days)"}


def test_too_few_holdout_purchases_to_judge_is_a_skip_with_the_count():
    lines = _hand_log()
    lines = lines[~(lines["customer"].str.startswith("A") & (lines["date"] >= "2024-03-04"))]
    found = customers_from_transactions(lines, as_of=HAND_AS_OF)
    check = holdout_check(found.purchases, found.as_of, option="4w", length=28.0)
    assert check == {"skipped": "the customers who bought before the cut on 2024-03-03 made only 20 purchases "
                                "in the holdout (at least 50 are needed to judge the forecast)"}


def test_auto_takes_a_third_of_the_span_in_whole_weeks_at_most_39():
    found = customers_from_transactions(_small_log())
    check = holdout_check(found.purchases, found.as_of)
    # 2024-01-01 to 2024-12-31 (the day after the last line, 2024-12-30): 365 days, a third
    # is 121.7 days: 17 whole weeks.
    assert check["holdout_days"] == 17 * 7
    assert check["calibration_end"] == (found.as_of - datetime.timedelta(days=119)).isoformat()


@pytest.mark.parametrize("bad", ["soon", "0w", "-3d", "39x"])
def test_a_bad_holdout_is_one_settings_error(bad):
    with pytest.raises(SettingsError, match=r"--holdout must be auto, off or a positive number"):
        Settings(holdout=bad).validated()


# --------------------------------------------------------------------------- CDNOW


@pytest.fixture(scope="module")
def cdnow_sample_lines():
    from conftest import read_cdnow_sample

    return read_cdnow_sample().rename(columns={"id": "customer"})[["customer", "date", "dollars"]]


def test_the_cdnow_sample_with_39_weeks_holds_the_published_checks(cdnow_sample_lines):
    from test_value_models import CALIBRATION_END, OBSERVATION_END

    found = customers_from_transactions(cdnow_sample_lines, as_of=OBSERVATION_END)
    check = holdout_check(found.purchases, found.as_of, option="39w", length=parse_holdout("39w"), model="bg/nbd")
    assert check["calibration_end"] == CALIBRATION_END
    # The published figures: BG/NBD under-forecasts the cumulative repeat purchases at week 78
    # by about 4% (within 5%), and the per-customer forecasts correlate 0.63 (>= 0.6).
    assert -5.0 < check["cumulative_error_pct"] < 0.0
    assert check["correlation"] >= 0.6
    assert check["fits"] and check["verdict"].startswith("the model forecast the repeat purchases to the end of "
                                                         "the 39-week holdout within 4%")


def test_a_run_on_the_cdnow_sample_puts_the_check_in_the_summary(cdnow_sample_lines):
    result = segment(cdnow_sample_lines, kind="transactions", as_of="1998-06-30", holdout="39w", **FAST)
    check = result.summary["value"]["holdout"]
    assert check["holdout"] == "39w" and check["calibration_end"] == "1997-09-30"
    assert check["model"] == "mbg/nbd"
    # Every customer of the sample bought in 1997's first quarter: all are checked.
    assert check["customers"] == result.summary["value"]["customers"] and check["new_in_holdout"] == 0
    assert abs(check["cumulative_error_pct"]) <= FIT_ERROR_PCT and check["correlation"] >= 0.6
    assert check["fits"] is True
    assert sum(check["weeks"]["weekly_actual"]) == check["weeks"]["cumulative_actual"][-1]


def test_holdout_off_leaves_the_reason():
    result = segment(_small_log(), kind="transactions", holdout="Off", **FAST)
    assert result.summary["value"]["holdout"] == {"skipped": "--holdout off"}


# --------------------------------------------------------------------------- the verdict


def _growing_shop(seed: int = 0) -> pd.DataFrame:
    """A year of a shop whose new customers per week grow with the square of the week, who
    buy at a Gamma-distributed weekly rate (mean 0.3) and leave after a purchase with
    probability 0.05, and who buy three times as often in the last 17 weeks (the automatic
    holdout)."""
    rng = np.random.default_rng(seed)
    rows, start = [], pd.Timestamp("2023-01-02")
    for week in range(52):
        for c in range(1 + week * week // 40):
            day, rate = week * 7 + int(rng.integers(0, 7)), rng.gamma(2.0, 0.15)
            while day < 364:
                rows.append((f"W{week:02d}-{c:03d}", start + pd.Timedelta(days=day)))
                if rng.random() < 0.05:
                    break
                day += 1 + int(rng.exponential(7.0 / (3 * rate if day >= 364 - 119 else rate)))
    return pd.DataFrame(rows, columns=["customer", "date"])


def test_a_growing_shop_with_a_busier_holdout_does_not_fit_and_says_why():
    found = customers_from_transactions(_growing_shop())
    check = holdout_check(found.purchases, found.as_of)
    assert check["holdout_days"] == 119
    assert check["new_customers"]["trend"] == "rising"
    assert check["holdout_purchases_per_week"]["change"] == "rising"
    assert check["fits"] is False
    assert check["cumulative_error_pct"] < -FIT_ERROR_PCT
    assert check["verdict"].startswith("the model does not fit: the repeat purchases to the end of the 17-week "
                                       "holdout were under-forecast by ")
    assert "first purchases per week rose from" in check["verdict"]
    assert "a season or a campaign the model does not expect" in check["verdict"]
    assert check["reasons"][0].startswith("the repeat purchases to the end of the 17-week holdout")
    assert check["thresholds"] == {"error_pct": FIT_ERROR_PCT, "correlation": FIT_CORRELATION}


# --------------------------------------------------------------------------- the report and the console


HOLDOUT_KEYS = ("value_tracking_cumulative", "value_tracking_weekly", "value_by_frequency")


@pytest.fixture(scope="module")
def small_run():
    return segment(_small_log(), kind="transactions", **FAST)


def _page_without_figures(summary: dict, monkeypatch) -> str:
    """The report's HTML with no figure drawn (the text only: fast)."""
    from custseg.reporting import report

    monkeypatch.setattr(report, "render_figures", lambda summary: {})
    return report.render_report(summary)


def _value_section(html: str) -> str:
    return html[html.index('id="customer-value"'):html.index('id="segment-details"')]


def test_the_report_shows_the_three_holdout_figures_for_a_log(small_run):
    from custseg.reporting.report import render_report

    check = small_run.summary["value"]["holdout"]
    assert check["fits"] is True, check["verdict"]
    section = _value_section(render_report(small_run.summary))
    for key in HOLDOUT_KEYS:
        assert f'data-figure="{key}"' in section, key
    verdict = section[section.index('data-test="value-holdout-verdict"'):]
    assert verdict[verdict.index(">") + 1:].startswith(f"<strong>{check['verdict'][:1].upper()}{check['verdict'][1:]}")
    # A model that fits: no warning first, no rough headings.
    assert 'data-test="value-verdict"' not in section and "(rough)" not in section


def test_no_holdout_figures_for_a_customer_table(mall, monkeypatch):
    from custseg.reporting import figures as plots

    summary = segment(mall, **FAST).summary
    for function in (plots.plot_value_tracking_cumulative, plots.plot_value_tracking_weekly,
                     plots.plot_value_by_frequency):
        assert function(summary) is None
    assert "Holdout check" not in _page_without_figures(summary, monkeypatch)


def test_a_skipped_check_says_why_in_the_report_and_draws_nothing(small_run, monkeypatch):
    from custseg.reporting import figures as plots

    summary = {**small_run.summary, "value": {**small_run.summary["value"], "holdout": {"skipped": "--holdout off"}}}
    html = _page_without_figures(summary, monkeypatch)
    assert '<p data-test="value-holdout-skipped">No holdout check: --holdout off.</p>' in html
    for function in (plots.plot_value_tracking_cumulative, plots.plot_value_tracking_weekly,
                     plots.plot_value_by_frequency):
        assert function(summary) is None


def test_a_model_that_does_not_fit_leads_the_section_and_marks_the_numbers_rough(small_run, monkeypatch):
    check = {**small_run.summary["value"]["holdout"], "fits": False,
             "verdict": "the model does not fit: the repeat purchases to the end of the 17-week holdout were "
                        "under-forecast by 40%"}
    summary = {**small_run.summary, "value": {**small_run.summary["value"], "holdout": check}}
    section = _value_section(_page_without_figures(summary, monkeypatch))
    first = section[section.index("<p"):]
    assert first.startswith('<p class="lead callout warn" data-test="value-verdict">The model does not fit: the '
                            'repeat purchases to the end of the 17-week holdout were under-forecast by 40%. The '
                            'numbers below are rough estimates, not facts.</p>')
    assert "Mean P(alive) (rough)</th>" in section and 'data-test="value-rough"' in section


def test_the_console_says_the_verdict_in_one_line(capsys, tmp_path):
    from test_cli import cli

    path = tmp_path / "shop.csv"
    _growing_shop().to_csv(path, index=False)
    code, out, err = cli(capsys, "run", path, "--out", tmp_path / "out", "--algorithms", "kmeans", "--k", "2..3",
                         "--no-report")
    assert code == 0, err
    line = [row for row in out.splitlines() if row.startswith("value model:")]
    assert len(line) == 1
    assert line[0].startswith("value model: the model does not fit: the repeat purchases to the end of")


def test_the_same_log_and_seed_give_byte_identical_outputs(tmp_path):
    from custseg.reporting import figures as plots

    lines = _small_log()
    runs = [segment(lines, kind="transactions", **FAST) for _ in range(2)]
    for run, name in zip(runs, ("one", "two")):
        run.write(tmp_path / name)
    for output in ("summary.json", "segments.csv"):
        assert (tmp_path / "one" / output).read_bytes() == (tmp_path / "two" / output).read_bytes(), output
    for function in (plots.plot_value_tracking_cumulative, plots.plot_value_tracking_weekly,
                     plots.plot_value_by_frequency):
        first, second = (plots.figure_to_png(function(run.summary)) for run in runs)
        assert first == second


def test_a_bad_holdout_on_the_command_line_is_one_red_line(capsys, tmp_path):
    from test_cli import one_line_error

    path = tmp_path / "orders.csv"
    _hand_log().to_csv(path, index=False)
    message = one_line_error(capsys, "run", path, "--out", tmp_path / "out", "--holdout", "soon")
    assert message.endswith("--holdout must be auto, off or a positive number of weeks, months or days such as "
                            "26w, 6m or 90d, got 'soon'")
