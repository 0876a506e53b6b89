"""Describe each segment: size, feature statistics against everyone, categorical make-up,
the features that set it apart, a plain-language name and a one-paragraph description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .clean import name_words

#: |z| at which a feature counts as setting a segment apart (in overall standard deviations).
DISTINCT_Z = 0.5
#: At most this many features are named and listed as setting a segment apart.
TOP_FEATURES = 3

#: (pattern on the column name as words, see `custseg.clean.name_words`; concept;
#: phrase when high; phrase when low)
VOCABULARY = [
    (r"\bage\b", "age", "older", "young"),
    (r"\b(income|salar|wealth|earning)", "income", "high income", "low income"),
    (r"\b(spend|monetary|revenue|sales\b|basket)", "spending", "high spending", "low spending"),
    (r"\bvisit", "visits", "frequent visitors", "rare visitors"),
    (r"\b(frequen|orders?\b|purchases\b|transactions?\b|invoices?\b)", "frequency",
     "frequent buyers", "infrequent buyers"),
    (r"\b(online|digital|web\b|apps?\b|ecommerce)", "online", "online-first", "store-first"),
    (r"\b(tenure|since\b|loyal|member)", "tenure", "long-standing", "new"),
    (r"\brecen", "recency", "lapsed", "recently active"),
    (r"\breturn", "returns", "frequent returners", "rare returners"),
]


@dataclass(frozen=True)
class Concept:
    """What a column means for naming and for suggesting actions."""

    key: str | None
    high: str
    low: str


def concept_of(column: str) -> Concept:
    """The vocabulary entry for a column name, or a generic one built from the name."""
    label = column_label(column)
    words = name_words(column)
    for pattern, key, high, low in VOCABULARY:
        if re.search(pattern, words):
            return Concept(key, high, low)
    return Concept(None, f"high {label}", f"low {label}")


def column_label(column: str) -> str:
    """Short readable label: units in brackets dropped, underscores as spaces."""
    label = re.sub(r"\s*[\(\[].*?[\)\]]", "", str(column)).replace("_", " ").strip()
    return label or str(column)


def profile_segments(data: pd.DataFrame, labels: np.ndarray, numeric: list[str], categorical: list[str],
                     features: list[str]) -> list[dict]:
    """Profiles of every segment, largest first, noise (-1) last.

    Parameters
    ----------
    data : DataFrame
        Cleaned customers in their own units (numeric columns may hold NaN outside the
        features; statistics skip them).
    labels : ndarray
        Segment of each customer.
    numeric, categorical : list of str
        Columns to describe.
    features : list of str
        Columns the segmentation was built on; only these name a segment.
    """
    n = len(labels)
    overall = {name: _stats(data[name].to_numpy(dtype="float64")) for name in numeric}
    segments = [s for s in np.unique(labels) if s >= 0] + ([-1] if (labels < 0).any() else [])
    profiles = []
    for segment in segments:
        members = labels == segment
        profile = {}
        for name in numeric:
            values = data[name].to_numpy(dtype="float64")[members]
            stats = _stats(values)
            base = overall[name]
            z = (stats["mean"] - base["mean"]) / base["std"] if base["std"] > 0 else 0.0
            lift = stats["mean"] / base["mean"] if base["mean"] != 0 else None
            profile[name] = {
                "mean": stats["mean"], "median": stats["median"],
                "overall_mean": base["mean"], "overall_median": base["median"],
                "z": float(z) if np.isfinite(z) else 0.0,
                "lift": float(lift) if lift is not None and np.isfinite(lift) else None,
            }
        top = sorted(
            (f for f in features if f in profile and abs(profile[f]["z"]) >= DISTINCT_Z),
            key=lambda f: (-abs(profile[f]["z"]), features.index(f)),
        )[:TOP_FEATURES]
        profiles.append({
            "id": int(segment),
            "size": int(members.sum()),
            "share": float(members.sum() / n),
            "profile": profile,
            "categories": {name: _shares(data[name][members]) for name in categorical},
            "top_features": [
                {"feature": f, "z": profile[f]["z"], "mean": profile[f]["mean"],
                 "overall_mean": profile[f]["overall_mean"]}
                for f in top
            ],
        })
    _name_segments(profiles, data, categorical, features)
    for segment in profiles:
        segment["description"] = describe(segment)
    return profiles


def overall_categories(data: pd.DataFrame, categorical: list[str]) -> dict:
    """Share of each level of each categorical column among all customers."""
    return {name: _shares(data[name]) for name in categorical}


def _stats(values: np.ndarray) -> dict:
    x = values[np.isfinite(values)]
    if x.size == 0:
        return {"mean": float("nan"), "median": float("nan"), "std": 0.0}
    return {"mean": float(x.mean()), "median": float(np.median(x)), "std": float(x.std())}


def _shares(column: pd.Series) -> dict:
    counts = column.astype("string").fillna("(missing)").value_counts()
    counts = counts.sort_index().sort_values(ascending=False, kind="stable")
    total = counts.sum()
    return {str(level): float(count / total) for level, count in counts.items()}


def _phrase(feature: str, z: float) -> str:
    concept = concept_of(feature)
    return concept.high if z > 0 else concept.low


def segment_name(segment: dict, depth: int = 2) -> str:
    """Plain-language name from the features that set a segment apart most."""
    if segment["id"] == -1:
        return "Unusual customers (no segment)"
    phrases = []
    for item in segment["top_features"][:depth]:
        phrase = _phrase(item["feature"], item["z"])
        if phrase in phrases:
            continue
        # "Young, high spending" reads better than "High spending, young".
        if concept_of(item["feature"]).key == "age":
            phrases.insert(0, phrase)
        else:
            phrases.append(phrase)
    if not phrases:
        return "Average customers"
    name = ", ".join(phrases)
    return name[0].upper() + name[1:]


def _name_segments(profiles: list[dict], data: pd.DataFrame, categorical: list[str], features: list[str]) -> None:
    """Give every segment a unique name, using more features or a dominant category to break ties."""
    for segment in profiles:
        segment["name"] = segment_name(segment)
    for segment in _clashing(profiles):
        segment["name"] = segment_name(segment, depth=TOP_FEATURES)
    for segment in _clashing(profiles):
        level = _dominant_level(segment, categorical, features)
        if level:
            segment["name"] = f"{segment['name']} ({level})"
    seen: dict[str, int] = {}
    for segment in profiles:
        name = segment["name"]
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            segment["name"] = f"{name} ({seen[name]})"


def _clashing(profiles: list[dict]) -> list[dict]:
    names = [s["name"] for s in profiles]
    return [s for s in profiles if names.count(s["name"]) > 1]


def _dominant_level(segment: dict, categorical: list[str], features: list[str]) -> str | None:
    """A category level that makes up most of the segment, preferring feature columns."""
    for name in sorted(categorical, key=lambda c: c not in features):
        shares = segment["categories"].get(name, {})
        if shares:
            level, share = next(iter(shares.items()))
            if share >= 0.6:
                # A code such as Region "3" needs its column name; a word such as "Female" does not.
                return f"mostly {name} {level}" if level.replace(".", "").isdigit() else f"mostly {level}"
    return None


def describe(segment: dict) -> str:
    """One short paragraph: size and what sets the segment apart, with numbers."""
    text = f"{segment['size']:,} customers ({segment['share']:.1%})."
    if segment["id"] == -1:
        return text + " These customers are far from every segment's dense core (DBSCAN noise)."
    facts = []
    for item in segment["top_features"]:
        side = "above" if item["z"] > 0 else "below"
        facts.append(
            f"{column_label(item['feature'])} {abs(item['z']):.1f} SD {side} average "
            f"({_fmt(item['mean'])} vs {_fmt(item['overall_mean'])})"
        )
    if not facts:
        return text + " No feature differs from the average by more than half a standard deviation."
    return text + " " + "; ".join(facts) + "."


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"
