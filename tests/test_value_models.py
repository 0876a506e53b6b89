"""The customer-value models against the published CDNOW figures (Fader, Hardie & Lee 2005),
against hand-computed formulas, and at extreme frequencies (custseg.valuing)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from custseg.valuing.customer_value import value_customers
from custseg.valuing.fitting import fit_gamma_gamma, fit_transactions
from custseg.valuing.history import calibration_and_holdout
from custseg.valuing.models import (
    BetaGeoParams,
    GammaGammaParams,
    ModifiedBetaGeoParams,
    ParetoNBDParams,
)
from custseg.valuing.scores import value_scores

CALIBRATION_END, OBSERVATION_END = "1997-09-30", "1998-06-30"


def _sig3(value: float) -> str:
    return f"{value:.3g}"


@pytest.fixture(scope="module")
def cdnow(request):
    from conftest import read_cdnow_sample

    lines = read_cdnow_sample()
    table = calibration_and_holdout(lines["id"], lines["date"], lines["dollars"],
                                    calibration_end=CALIBRATION_END, observation_end=OBSERVATION_END)
    first = lines.groupby("id")["date"].min().reindex(table["customer"])
    table["age_at_end"] = ((pd.Timestamp(OBSERVATION_END) - first).dt.days / 7).to_numpy()
    return table


@pytest.fixture(scope="module")
def bgnbd(cdnow):
    return fit_transactions("bg/nbd", cdnow["x"], cdnow["t_x"], cdnow["T"])


def test_bgnbd_gives_the_published_parameters_on_cdnow(bgnbd):
    p = bgnbd.params
    assert (_sig3(p.r), _sig3(p.alpha), _sig3(p.a), _sig3(p.b)) == ("0.243", "4.41", "0.793", "2.43")
    assert bgnbd.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    assert bgnbd.ok and bgnbd.customers == 2357


def test_pareto_nbd_gives_the_published_parameters_on_cdnow(cdnow):
    fit = fit_transactions("pareto/nbd", cdnow["x"], cdnow["t_x"], cdnow["T"])
    p = fit.params
    assert (_sig3(p.r), _sig3(p.alpha), _sig3(p.s), _sig3(p.beta)) == ("0.553", "10.6", "0.606", "11.7")
    assert fit.log_likelihood == pytest.approx(-9595.0, abs=0.1)
    assert fit.ok


def test_gamma_gamma_gives_the_published_parameters_on_the_946_repeat_customers(cdnow):
    fit = fit_gamma_gamma(cdnow["x"], cdnow["mean_value"])
    p = fit.params
    assert fit.customers == 946
    assert (_sig3(p.p), _sig3(p.q), _sig3(p.gamma)) == ("6.25", "3.74", "15.4")


def test_bgnbd_cumulative_forecast_at_week_78_is_within_5_percent(cdnow, bgnbd):
    # Each customer's expected repeat purchases from its first purchase to week 78, summed.
    forecast = bgnbd.params.expected_purchases_new(cdnow["age_at_end"].to_numpy()).sum()
    actual = (cdnow["x"] + cdnow["x_holdout"]).sum()
    assert forecast < actual  # the paper: an under-forecast of about 4%
    assert abs(forecast / actual - 1) < 0.05


def test_bgnbd_holdout_purchases_correlate_with_the_actual_ones(cdnow, bgnbd):
    predicted = bgnbd.params.expected_purchases(39.0, cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert np.corrcoef(predicted, cdnow["x_holdout"])[0, 1] >= 0.6


def test_the_log_likelihood_of_the_weighted_fit_is_the_sum_over_every_customer(cdnow, bgnbd):
    per_customer = bgnbd.params.log_likelihood(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert bgnbd.distinct_rows < bgnbd.customers
    assert per_customer.sum() == pytest.approx(bgnbd.log_likelihood, rel=1e-12)


def test_bgnbd_p_alive_and_expected_purchases_by_hand():
    p = BetaGeoParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    # x = 2, t_x = 30.43, T = 38.86: 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    #   a / (b + 1) = 0.793 / 3.426 = 0.231465; (43.274 / 34.844) ** 2.243 = 1.625838
    #   P(alive) = 1 / (1 + 0.231465 * 1.625838) = 1 / 1.376329 = 0.726570
    assert float(p.p_alive(2, 30.43, 38.86)) == pytest.approx(0.726570, abs=1e-5)
    # x = 0, T = 20, next t = 10: the textbook form with 2F1(r, b; a + b - 1; t / (alpha + T + t))
    # (small x: no overflow), times P(alive) = 1.
    r, alpha, a, b, T, t = 0.243, 4.414, 0.793, 2.426, 20.0, 10.0
    f = hyp2f1(r, b, a + b - 1, t / (alpha + T + t)) * ((alpha + T) / (alpha + T + t)) ** r
    assert float(p.expected_purchases(t, 0, 0.0, T)) == pytest.approx((a + b - 1) / (a - 1) * (1 - f), rel=1e-10)
    # Same for x = 3, t_x = 15: 2F1(r + x, b + x; a + b + x - 1; z) and the P(alive) denominator.
    x, t_x = 3.0, 15.0
    f = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t)) * ((alpha + T) / (alpha + T + t)) ** (r + x)
    denominator = 1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    expected = (a + b + x - 1) / (a - 1) * (1 - f) / denominator
    assert float(p.expected_purchases(t, x, t_x, T)) == pytest.approx(expected, rel=1e-10)


def test_pareto_nbd_p_alive_by_hand_where_alpha_equals_beta():
    # With alpha = beta: P(alive) = 1 / (1 + s / (r + s + x) * (((alpha + T) / (alpha + t_x)) ** (r + s + x) - 1)).
    #   r = 0.5, s = 0.8, alpha = beta = 10, x = 3, t_x = 20, T = 40: (50 / 30) ** 4.3 = 8.994034
    #   1 / (1 + 0.8 / 4.3 * 7.994034) = 1 / 2.487263 = 0.402048
    p = ParetoNBDParams(r=0.5, alpha=10.0, s=0.8, beta=10.0)
    assert float(p.p_alive(3, 20.0, 40.0)) == pytest.approx(0.402048, abs=1e-5)
    # Expected purchases: (r + x) (beta + T) / ((alpha + T) (s - 1)) (1 - ((beta + T) / (beta + T + t)) ** (s - 1)) P(alive)
    t = 26.0
    by_hand = 3.5 * 50 / (50 * -0.2) * (1 - (50 / 76) ** -0.2) * 0.402048
    assert float(p.expected_purchases(t, 3, 20.0, 40.0)) == pytest.approx(by_hand, rel=1e-5)


def test_gamma_gamma_mean_by_hand():
    p = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    # p (gamma + x m) / (p x + q - 1) = 6.25 * (15.44 + 80) / (12.5 + 2.74) = 596.5 / 15.24
    assert float(p.expected_value(2, 40.0)) == pytest.approx(596.5 / 15.24)
    # no repeat purchase: the population mean p gamma / (q - 1) = 96.5 / 2.74
    assert float(p.expected_value(0, np.nan)) == pytest.approx(96.5 / 2.74)


def test_several_purchases_long_ago_and_none_since_give_a_low_p_alive(cdnow, bgnbd):
    # 5 repeat purchases in the first 5 weeks, silent for the 34 weeks since.
    for params in (bgnbd.params, fit_transactions("pareto/nbd", cdnow["x"], cdnow["t_x"], cdnow["T"]).params):
        assert float(params.p_alive(5, 5.0, 39.0)) < 0.05
        assert float(params.p_alive(5, 38.0, 39.0)) > 0.8


def test_one_time_buyers_bgnbd_flaw_and_the_models_without_it():
    bg = BetaGeoParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert bg.p_alive(0, 0.0, [1.0, 78.0, 500.0]).tolist() == [1.0, 1.0, 1.0]
    for params in (ModifiedBetaGeoParams(r=0.525, alpha=6.18, a=0.891, b=1.61),
                   ParetoNBDParams(r=0.553, alpha=10.578, s=0.606, beta=11.669)):
        young, old = params.p_alive(0, 0.0, [1.0, 78.0])
        assert 0 < old < young < 1


def test_no_overflow_at_frequency_10000_and_500_weeks():
    # Oracle: the textbook formulas evaluated with mpmath at 50 digits.
    bg = BetaGeoParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert float(bg.p_alive(10_000, 500.0, 500.0)) == pytest.approx(0.999920717592766, rel=1e-12)
    assert float(bg.expected_purchases(52.0, 10_000, 500.0, 500.0)) == pytest.approx(991.136851191980, rel=1e-10)
    pareto = ParetoNBDParams(r=0.553, alpha=10.578, s=0.606, beta=11.669)
    assert float(pareto.expected_purchases(52.0, 10_000, 500.0, 500.0)) == pytest.approx(988.747615970783, rel=1e-10)
    for params in (bg, pareto, ModifiedBetaGeoParams(r=0.52, alpha=6.18, a=0.89, b=1.61)):
        values = [params.log_likelihood(10_000, 250.0, 500.0), params.p_alive(10_000, 250.0, 500.0),
                  params.expected_purchases(52.0, 10_000, 100.0, 500.0)]
        assert all(math.isfinite(float(v)) for v in values)


def test_a_fit_that_cannot_work_says_so_instead_of_raising():
    fit = fit_transactions("bg/nbd", np.zeros(50), np.zeros(50), np.full(50, 30.0))
    assert not fit.ok
    assert any("no customer made a repeat purchase" in w for w in fit.warnings)
    spend = fit_gamma_gamma([1.0, 0.0], [10.0, np.nan])
    assert not spend.ok and "fewer than two customers" in spend.warnings[0]
    assert fit.to_dict()["warnings"] == list(fit.warnings)


def test_clv_without_discount_is_expected_purchases_times_value_and_discounting_lowers_it():
    history = pd.DataFrame({"x": [0.0, 2.0, 5.0], "t_x": [0.0, 30.0, 5.0], "T": [38.0, 38.0, 39.0],
                            "mean_value": [np.nan, 40.0, 20.0]})
    bg = BetaGeoParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    spend = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    flat = value_scores(bg, history, horizon=52.0, spend=spend, discount=0.0)
    np.testing.assert_allclose(flat["clv"], flat["expected_purchases"] * flat["expected_value_per_purchase"],
                               rtol=1e-12)
    discounted = value_scores(bg, history, horizon=52.0, spend=spend, discount=0.10)
    assert (discounted["clv"] < flat["clv"]).all()
    # Every purchase is discounted by at most a year at 10%: CLV >= flat / 1.1.
    assert (discounted["clv"] >= flat["clv"] / 1.1).all()
    without_money = value_scores(bg, history, horizon=52.0)
    assert without_money["clv"].isna().all() and without_money["p_alive"].notna().all()


def test_without_repeat_buyers_the_scores_stay_empty_and_the_summary_says_why():
    history = pd.DataFrame({"x": np.zeros(30), "t_x": np.zeros(30), "T": np.linspace(1.0, 50.0, 30),
                            "mean_value": np.full(30, np.nan)})
    value = value_customers(history)
    assert value.scores.isna().all().all()
    summary = value.summary(np.zeros(30, dtype=int))
    assert not summary["ok"]
    assert "no customer made a repeat purchase: the model cannot be fitted" in summary["fit"]["warnings"]


def test_expected_purchases_stay_finite_with_a_drop_out_parameter_near_zero():
    # Online Retail's calibration half-year fits MBG/NBD with a near 0 and b near 9,000: the
    # textbook 2F1(r + x, a - 1; a + b + x; -t / (alpha + T)) has an argument below -1 there,
    # where SciPy returned NaN. With a -> 0 nobody drops out and P(alive) -> 1, so the
    # expectation tends to the NBD's (r + x) / (alpha + T) * t.
    params = ModifiedBetaGeoParams(r=0.744, alpha=9.047, a=7.6e-07, b=8783.6)
    expected = params.expected_purchases(23.14, [0.0, 1.0], [0.0, 0.29], [1.0, 1.43])
    nbd = (0.744 + np.array([0.0, 1.0])) / (9.047 + np.array([1.0, 1.43])) * 23.14
    np.testing.assert_allclose(expected, nbd, rtol=1e-3)
