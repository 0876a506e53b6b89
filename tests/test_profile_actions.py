"""Tests for custseg.explaining.profile and custseg.explaining.actions on small hand-computed tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from custseg.explaining.actions import suggest_actions
from custseg.explaining.profile import (
    column_label, comparison, concept_of, key_findings, overall_categories, profile_segments, readable, segment_rules,
)

FEATURES = ["Annual Income", "Spending Score"]


def _six() -> tuple[pd.DataFrame, np.ndarray]:
    """Segment 0: rich, spends little. Segment 1: poorer, spends a lot."""
    data = pd.DataFrame({
        "Annual Income": [80.0, 90.0, 100.0, 20.0, 30.0, 40.0],
        "Spending Score": [10.0, 20.0, 30.0, 60.0, 70.0, 80.0],
        "Balance": [-3.0, -1.0, -2.0, 3.0, 1.0, 2.0],
        "Gender": ["Female", "Female", "Male", "Male", "Male", "Male"],
    })
    return data, np.array([0, 0, 0, 1, 1, 1])


# Income: overall mean 60, median (40 + 80) / 2 = 60, population sd sqrt(5800 / 6)
INCOME_SD = math.sqrt((400 + 900 + 1600) * 2 / 6)
# Spending: overall mean 45, median (30 + 60) / 2 = 45, population sd sqrt(4150 / 6)
SPEND_SD = math.sqrt((1225 + 625 + 225) * 2 / 6)
# Balance: overall mean 0, sd sqrt(28 / 6)
BALANCE_SD = math.sqrt((9 + 1 + 4) * 2 / 6)


def test_numeric_profile_exact_values():
    data, labels = _six()
    profiles = profile_segments(data, labels, ["Annual Income", "Spending Score", "Balance"], ["Gender"], FEATURES)
    assert [p["id"] for p in profiles] == [0, 1]
    first, second = profiles
    assert (first["size"], first["share"]) == (3, 0.5)
    income = first["profile"]["Annual Income"]
    assert income["mean"] == 90.0 and income["median"] == 90.0
    assert income["overall_mean"] == 60.0 and income["overall_median"] == 60.0
    assert income["z"] == pytest.approx(30 / INCOME_SD, rel=1e-12)
    assert income["z"] == pytest.approx(0.9649, abs=1e-4)
    assert income["lift"] == pytest.approx(1.5, rel=1e-12)
    spend = first["profile"]["Spending Score"]
    assert (spend["mean"], spend["median"], spend["overall_mean"], spend["overall_median"]) == (20.0, 20.0, 45.0, 45.0)
    assert spend["z"] == pytest.approx(-25 / SPEND_SD, rel=1e-12)
    assert spend["lift"] == pytest.approx(20 / 45, rel=1e-12)
    second_spend = second["profile"]["Spending Score"]
    assert second_spend["mean"] == 70.0 and second_spend["z"] == pytest.approx(25 / SPEND_SD, rel=1e-12)
    assert second_spend["lift"] == pytest.approx(70 / 45, rel=1e-12)
    # overall mean 0: lift undefined, z still defined
    balance = first["profile"]["Balance"]
    assert balance["mean"] == -2.0 and balance["lift"] is None
    assert balance["z"] == pytest.approx(-2 / BALANCE_SD, rel=1e-12)


def test_categories_and_top_features():
    data, labels = _six()
    profiles = profile_segments(data, labels, ["Annual Income", "Spending Score", "Balance"], ["Gender"], FEATURES)
    first, second = profiles
    assert first["categories"] == {"Gender": {"Female": pytest.approx(2 / 3), "Male": pytest.approx(1 / 3)}}
    assert list(first["categories"]["Gender"]) == ["Female", "Male"]
    assert second["categories"] == {"Gender": {"Male": 1.0}}
    assert overall_categories(data, ["Gender"]) == {"Gender": {"Male": pytest.approx(4 / 6), "Female": pytest.approx(2 / 6)}}
    # |z| 0.965 (income) > 0.951 (spending); Balance (|z| 0.93) is not a feature
    assert [t["feature"] for t in first["top_features"]] == ["Annual Income", "Spending Score"]
    top = first["top_features"][0]
    assert top["mean"] == 90.0 and top["overall_mean"] == 60.0
    assert top["z"] == pytest.approx(30 / INCOME_SD)


def test_names_and_descriptions():
    data, labels = _six()
    first, second = profile_segments(data, labels, FEATURES, [], FEATURES)
    assert first["name"] == "High income, low spending"
    assert second["name"] == "Low income, high spending"
    assert first["description"] == (
        "3 customers (50.0%). Annual income 1.0 SD above average (90 vs 60); "
        "spending score 1.0 SD below average (20 vs 45)."
    )


def test_missing_values_are_skipped_in_statistics():
    data, labels = _six()
    data["Age"] = [20.0, np.nan, 40.0, 50.0, 50.0, np.nan]
    first, second = profile_segments(data, labels, ["Age"], [], FEATURES)
    # overall: 20, 40, 50, 50 -> mean 40, median 45; segment 0: 20, 40
    assert first["profile"]["Age"]["mean"] == 30.0
    assert first["profile"]["Age"]["overall_mean"] == 40.0
    assert first["profile"]["Age"]["overall_median"] == 45.0
    assert second["profile"]["Age"]["median"] == 50.0


def test_noise_segment_is_named_and_listed_last():
    data, _ = _six()
    labels = np.array([-1, 0, 0, 1, 1, 1])
    profiles = profile_segments(data, labels, FEATURES, [], FEATURES)
    assert [p["id"] for p in profiles] == [0, 1, -1]
    noise = profiles[-1]
    assert noise["name"] == "Unusual customers (no segment)"
    assert noise["size"] == 1
    assert noise["description"] == (
        "1 customers (16.7%). These customers are far from every segment's dense core (DBSCAN noise)."
    )
    assert suggest_actions(noise, FEATURES) == [{
        "action": "Review these customers individually before any campaign: they fit no segment.",
        "reason": "DBSCAN found 1 customers far from every dense group.",
    }]


def _nine(gender: list[str] | None = None):
    """Segments 0 and 1 are both rich big spenders; segment 2 is neither."""
    values = [100.0] * 3 + [90.0] * 3 + [10.0] * 3
    data = pd.DataFrame({"Annual Income": values, "Spending Score": values})
    if gender is not None:
        data["Gender"] = gender
    return data, np.repeat([0, 1, 2], 3)


# mean 200/3, population variance ((100/3)^2 + (70/3)^2 + (170/3)^2) / 3 = 1622.2
NINE_SD = math.sqrt(((100 / 3) ** 2 + (70 / 3) ** 2 + (170 / 3) ** 2) / 3)


def test_clashing_names_are_numbered():
    data, labels = _nine()
    profiles = profile_segments(data, labels, FEATURES, [], FEATURES)
    # segment 1: z = (90 - 66.7) / 40.3 = 0.58 >= 0.5, so it gets the same name as segment 0
    assert profiles[1]["profile"]["Annual Income"]["z"] == pytest.approx((90 - 200 / 3) / NINE_SD)
    assert [p["name"] for p in profiles] == [
        "High income, high spending",
        "High income, high spending (2)",
        "Low income, low spending",
    ]


def test_clashing_names_use_a_dominant_category():
    gender = ["F", "F", "F", "M", "M", "F", "M", "F", "M"]
    data, labels = _nine(gender)
    profiles = profile_segments(data, labels, FEATURES, ["Gender"], FEATURES)
    # segment 0 is 3/3 F, segment 1 is 2/3 M (>= 0.6)
    assert [p["name"] for p in profiles] == [
        "High income, high spending (mostly F)",
        "High income, high spending (mostly M)",
        "Low income, low spending",
    ]
    assert len({p["name"] for p in profiles}) == 3


def test_vip_action_with_numbers():
    data, labels = _nine()
    profiles = profile_segments(data, labels, FEATURES, [], FEATURES)
    z = (100 - 200 / 3) / NINE_SD
    assert f"{z:.1f}" == "0.8"
    actions = suggest_actions(profiles[0], FEATURES)
    assert actions == [{
        "action": "Treat as VIPs: premium service, early access and exclusive offers.",
        "reason": ("annual income is 0.8 SD above average (100 vs 66.7) and "
                   "spending score is 0.8 SD above average (100 vs 66.7)"),
    }]
    low = suggest_actions(profiles[2], FEATURES)
    assert low[0]["action"].startswith("Keep service costs low")
    assert "annual income is 1.4 SD below average (10 vs 66.7)" in low[0]["reason"]


def test_pair_rule_then_weaker_single_rule():
    data, labels = _six()
    # Age: mean 40, population sd sqrt((25 + 0 + 100) * 2 / 6); segment 0 mean 45 (z 0.77),
    # weaker than the income/spending pair (mean |z| 0.96), so the pair comes first
    data["Age"] = [45.0, 40.0, 50.0, 35.0, 40.0, 30.0]
    age_z = 5 / math.sqrt((25 + 0 + 100) * 2 / 6)
    assert f"{age_z:.1f}" == "0.8"
    features = ["Age", "Annual Income", "Spending Score"]
    first, second = profile_segments(data, labels, features, [], features)
    actions = suggest_actions(first, features)
    assert actions == [
        {"action": "Upsell: they can afford more; test premium products and find out what holds them back.",
         "reason": ("annual income is 1.0 SD above average (90 vs 60) and "
                    "spending score is 1.0 SD below average (20 vs 45)")},
        {"action": "Favour e-mail, print and in-store service; stress quality and reassurance.",
         "reason": "age is 0.8 SD above average (45 vs 40)"},
    ]
    assert suggest_actions(second, features) == [
        {"action": "Reward their loyalty with value bundles and points; avoid pushing credit.",
         "reason": ("annual income is 1.0 SD below average (30 vs 60) and "
                    "spending score is 1.0 SD above average (70 vs 45)")},
        {"action": "Reach them on social media and mobile channels, with trend-led creative.",
         "reason": "age is 0.8 SD below average (35 vs 40)"},
    ]


def test_generic_actions_for_unknown_columns():
    assert concept_of("Widget_count (units)").key is None
    data = pd.DataFrame({"Widget_count (units)": [10.0, 10.0, 10.0, 1.0, 1.0, 1.0]})
    labels = np.array([0, 0, 0, 1, 1, 1])
    first, second = profile_segments(data, labels, ["Widget_count (units)"], [], ["Widget_count (units)"])
    # mean 5.5, sd 4.5: z = +1 and -1
    assert first["name"] == "High widget count"
    assert second["name"] == "Low widget count"
    assert suggest_actions(first, ["Widget_count (units)"]) == [{
        "action": "Build offers around widget count: cross-sell and bundle where they already spend.",
        "reason": "widget count is 1.0 SD above average (10 vs 5.5)",
    }]
    assert suggest_actions(second, ["Widget_count (units)"]) == [{
        "action": "Test an introductory offer on widget count, where they are below average.",
        "reason": "widget count is 1.0 SD below average (1 vs 5.5)",
    }]


def test_names_spell_out_jargon_and_prefer_readable_features():
    """Field codes are not names: known abbreviations are spelt out, readable features lead,
    and a segment known only by codes is called "Segment N: ..."."""
    assert column_label("pdays") == "days since last contact"
    assert column_label("MntWines") == "spend on wines"
    assert column_label("Delicassen") == "delicatessen"
    assert [readable(c) for c in ("pdays", "x1", "V12", "ps_ind_03", "Detergents_Paper", "age")] == [
        True, False, False, False, True, True]
    # x7 moves most (z = +1.0), then MntWines (z = +1.0 too, listed second), then pdays (-1.0).
    data = pd.DataFrame({
        "x7": [10.0, 10, 10, 1, 1, 1],
        "MntWines": [900.0, 900, 900, 100, 100, 100],
        "pdays": [1.0, 1, 1, 10, 10, 10],
    })
    labels = np.array([0, 0, 0, 1, 1, 1])
    first, second = profile_segments(data, labels, list(data), [], list(data))
    assert [t["feature"] for t in first["top_features"]] == ["x7", "MntWines", "pdays"]
    assert first["name"] == "High spend on wines, low days since last contact"
    assert second["name"] == "Low spend on wines, high days since last contact"
    assert (concept_of("pdays_is_999").high, concept_of("job_is_unknown").low) == (
        "mostly days since last contact 999", "seldom job unknown")
    coded = pd.DataFrame({"x1": [5.0, 5, 5, 1, 1, 1], "x2": [0.0, 0, 0, 3, 3, 3]})
    first, second = profile_segments(coded, labels, ["x1", "x2"], [], ["x1", "x2"])
    assert (first["name"], second["name"]) == ("Segment 0: high x1, low x2", "Segment 1: low x1, high x2")


def test_average_customers():
    data = pd.DataFrame({"Annual Income": [10.0, 90.0, 50.0, 50.0, 50.0, 50.0]})
    labels = np.array([0, 0, 1, 1, 1, 1])
    profiles = profile_segments(data, labels, ["Annual Income"], [], ["Annual Income"])
    # both segments have mean 50 = the overall mean: z = 0, nothing sets them apart
    assert [p["profile"]["Annual Income"]["z"] for p in profiles] == [0.0, 0.0]
    assert [p["top_features"] for p in profiles] == [[], []]
    assert [p["name"] for p in profiles] == ["Average customers", "Average customers (2)"]
    assert profiles[0]["description"] == (
        "2 customers (33.3%). No feature differs from the average by more than half a standard deviation."
    )
    assert suggest_actions(profiles[0], ["Annual Income"]) == [{
        "action": "Include them in broad campaigns and A/B-test offers to learn what moves them.",
        "reason": "no feature sets this segment apart by more than half a standard deviation",
    }]


def test_at_most_three_actions_and_top_features():
    rng = np.random.default_rng(0)
    columns = ["Age", "Annual Income", "Spending Score", "Visits", "Online share", "Tenure"]
    data = pd.DataFrame(rng.normal(size=(6, 6)), columns=columns)
    data.iloc[:3] += 5.0  # segment 0 is higher on everything
    labels = np.array([0, 0, 0, 1, 1, 1])
    first, _ = profile_segments(data, labels, columns, [], columns)
    assert len(first["top_features"]) == 3
    assert len(suggest_actions(first, columns)) == 3


def test_code_levels_keep_their_column_name():
    gender = ["1", "1", "1", "2", "2", "1", "2", "1", "2"]
    data, labels = _nine(gender)
    profiles = profile_segments(data, labels, FEATURES, ["Gender"], FEATURES)
    assert profiles[0]["name"] == "High income, high spending (mostly Gender 1)"


@pytest.mark.parametrize("column, key", [
    ("Age", "age"), ("Customer Age", "age"), ("average_basket", "basket"),
    ("AvgBasketValue", "basket"), ("apparel_spend", "spending"), ("Delicassen", None),
    ("happy_score", None), ("online_share", "online"), ("recency_days", "recency"),
])
def test_vocabulary_matches_whole_words(column, key):
    """Whole words only."""
    # "average" must not read as age, nor "apparel" as app
    assert concept_of(column).key == key


def test_segment_rules_recover_a_threshold_exactly():
    # segment 1 is exactly "income > 50" (midpoint of 40 and 60); age needs two cuts, so income wins
    data = pd.DataFrame({"income": [10.0, 20, 30, 40, 60, 70, 80, 90], "age": [30.0, 37, 31, 36, 32, 35, 33, 34]})
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    rules = segment_rules(data, labels, ["income", "age"], random_state=0)
    assert rules[1] == {"conditions": ["income > 50"], "precision": 1.0, "recall": 1.0}
    assert rules[0] == {"conditions": ["income <= 50"], "precision": 1.0, "recall": 1.0}


def test_segment_rules_merge_bounds_into_a_range():
    data = pd.DataFrame({"x": np.arange(12, dtype=float)})
    labels = np.array([0] * 4 + [1] * 4 + [2] * 4)
    rules = segment_rules(data, labels, ["x"], random_state=0)
    assert rules[1]["conditions"] == ["3.5 < x <= 7.5"]
    assert segment_rules(data, labels, [], random_state=0) == {}


def test_key_findings_name_size_structure_and_spenders():
    data, labels = _nine()
    profiles = profile_segments(data, labels, FEATURES, [], FEATURES)
    findings = key_findings(profiles, 0.61, "reasonable structure: the segments are well separated")
    assert findings[0] == "Customers fall into 3 segments: reasonable structure (silhouette 0.61)."
    assert findings[1].startswith("The largest segment, “") and "33% of customers" in findings[1]
    assert len(findings) == 3


def test_log_scale_columns_are_compared_by_median_and_z_on_the_log_scale():
    # one whale makes segment 1's raw mean the highest, though its members typically spend little
    spend = np.array([1000.0, 1100, 1200, 1300, 10, 12, 14, 50000])
    data = pd.DataFrame({"monetary": spend})
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    first, _ = profile_segments(data, labels, ["monetary"], [], ["monetary"], log_columns={"monetary"})
    logged = np.log1p(spend)
    z0 = (logged[:4].mean() - logged.mean()) / logged.std()
    raw_z0 = (spend[:4].mean() - spend.mean()) / spend.std()
    assert first["profile"]["monetary"]["z"] == pytest.approx(z0)
    assert z0 > 0 > raw_z0
    assert first["profile"]["monetary"]["log_scale"] is True
    assert comparison(first["profile"]["monetary"]) == "(median 1,150 vs 1,050)"
    raw, _ = profile_segments(data, labels, ["monetary"], [], ["monetary"])
    assert raw["profile"]["monetary"]["z"] == pytest.approx(raw_z0)
    assert comparison(raw["profile"]["monetary"]) == "(1,150 vs 6,830)"


def test_categorical_features_name_their_segments():
    data = pd.DataFrame({"city": ["A", "A", "A", "B", "B", "B"], "plan": ["x", "x", "y", "y", "y", "y"]})
    labels = np.array([0, 0, 0, 1, 1, 1])
    first, second = profile_segments(data, labels, [], ["city", "plan"], ["city", "plan"])
    # city A is 100% of segment 0 against 50% overall (lift 2); plan x is 67% against 33% (lift 2)
    assert first["top_levels"][0] == {"feature": "city", "level": "A", "share": 1.0, "overall_share": 0.5}
    assert first["name"] == "City A, plan x"
    assert second["name"] == "City B, plan y"  # plan y: 100% against 67%, exactly the 1.5x lift needed
    actions = suggest_actions(first, ["city", "plan"])
    assert actions[0]["reason"] == "100% of the segment is city A, against 50% of all customers"


def test_search_skips_repeated_segmentations_of_few_distinct_customers():
    from custseg.segmenting.options import SearchOptions
    from custseg.segmenting.search import search
    from custseg.settings import Settings

    matrix = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 9.0]]), 20, axis=0)
    found = search(matrix, SearchOptions.from_settings(Settings(algorithms=("kmeans",), k_min=2, k_max=6)))
    assert [c.k for c in found.candidates] == [2, 3]
    assert found.chosen.k == 3
