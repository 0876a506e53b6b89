"""Describe each segment: size, feature statistics against everyone, categorical make-up,
the features that set it apart, a plain-language name and a one-paragraph description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..preparing.clean import name_words

#: |z| at which a feature counts as setting a segment apart (in overall standard deviations).
DISTINCT_Z = 0.5
#: At most this many features are named and listed as setting a segment apart.
TOP_FEATURES = 3

#: (pattern on the column name as words, see `custseg.preparing.clean.name_words`; concept;
#: phrase when high; phrase when low)
VOCABULARY = [
    (r"\bage\b", "age", "older", "young"),
    (r"\brecent (spend|sales|revenue)", "momentum", "spending more lately", "spending less lately"),
    (r"\b(order value|aov|basket|(items|units) per order)", "basket", "big baskets", "small baskets"),
    (r"\b(distinct products|products|breadth|categories)\b", "breadth", "broad range", "narrow range"),
    (r"\bdays between", "cadence", "slow to repeat", "quick to repeat"),
    (r"\b(income|salar|wealth|earning)", "income", "high income", "low income"),
    (r"\b(spend|monetary|revenue|sales\b)", "spending", "high spending", "low spending"),
    (r"\bvisit", "visits", "frequent visitors", "rare visitors"),
    (r"\b(frequen|orders?\b|purchases\b|transactions?\b|invoices?\b)", "frequency",
     "frequent buyers", "infrequent buyers"),
    (r"\b(online|digital|web\b|apps?\b|ecommerce)", "online", "online-first", "store-first"),
    (r"\b(tenure|since\b|loyal|member)", "tenure", "long-standing", "new"),
    (r"\brecen", "recency", "lapsed", "recently active"),
    (r"\breturn", "returns", "frequent returners", "rare returners"),
]


#: Abbreviations and coded field names of customer exports, as readable words. Matched on
#: whole words of the column name (split at underscores, spaces and camelCase).
READABLE_WORDS = {
    "avg": "average", "amt": "amount", "qty": "quantity", "num": "number of", "nbr": "number of",
    "cnt": "count of", "tot": "total", "txn": "transactions", "txns": "transactions",
    "trx": "transactions", "cust": "customer", "freq": "frequency", "mnt": "spend on",
    "dt": "date", "yr": "year", "yrs": "years", "mth": "month", "mths": "months", "pct": "percent",
    "perc": "percent", "bal": "balance", "acct": "account", "purch": "purchases",
    "prod": "product", "prods": "products", "rev": "revenue", "disc": "discount",
    "dur": "duration", "cc": "credit card", "cmp": "campaign", "emp": "employment",
    "pdays": "days since last contact", "kidhome": "children at home",
    "teenhome": "teenagers at home", "delicassen": "delicatessen", "recency": "recency",
}
#: Short words that are words, not codes.
_SHORT_WORDS = {"age", "app", "at", "by", "day", "fee", "for", "in", "of", "on", "per", "tax", "to",
                "tv", "web", "vip", "id", "and", "new", "old", "net", "kid", "kids", "car"}


@dataclass(frozen=True)
class Concept:
    """What a column means for naming and for suggesting actions."""

    key: str | None
    high: str
    low: str


#: The name custseg gives a 0/1 indicator of a code for missing (``pdays_is_999``).
CODE_INDICATOR = re.compile(r"(.+)_is_(.+)")


def concept_of(column: str) -> Concept:
    """The vocabulary entry for a column name, or a generic one built from the name."""
    label = column_label(column)
    indicator = CODE_INDICATOR.fullmatch(str(column))
    if indicator:
        # A 0/1 indicator of a code for missing (``pdays_is_999``, ``job_is_unknown``).
        fact = f"{column_label(indicator.group(1))} {indicator.group(2)}"
        return Concept(None, f"mostly {fact}", f"seldom {fact}")
    words = name_words(column)
    for pattern, key, high, low in VOCABULARY:
        if re.search(pattern, words):
            return Concept(key, high, low)
    return Concept(None, f"high {label}", f"low {label}")


def column_label(column: str) -> str:
    """Short readable label: units in brackets dropped, words split at underscores and
    camelCase, in lower case (acronyms kept), known abbreviations spelt out.

    Examples
    --------
    >>> column_label("Annual Income (k$)"), column_label("MntWines"), column_label("pdays")
    ('annual income', 'spend on wines', 'days since last contact')
    >>> column_label("NumWebPurchases"), column_label("RFM_score")
    ('number of web purchases', 'RFM score')
    """
    text = re.sub(r"\s*[\(\[].*?[\)\]]", "", str(column))
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    tokens = re.findall(r"[A-Za-z]+[0-9]*|[0-9]+", text)
    words = [READABLE_WORDS.get(t.lower(), t if t.isupper() and len(t) > 1 else t.lower()) for t in tokens]
    return " ".join(words) or str(column)


def readable(column: str) -> bool:
    """Whether a column's label reads as words (``annual income``) rather than a code
    (``x1``, ``v12``, ``ps_ind``): no word with digits, and no short word that is not one."""
    for word in column_label(column).split():
        if any(ch.isdigit() for ch in word) and not word.isdigit():
            return False
        if word.isdigit() or (len(word) <= 3 and word.lower() not in _SHORT_WORDS):
            return False
        if not re.search(r"[aeiouy]", word.lower()):
            return False
    return True


def profile_segments(data: pd.DataFrame, labels: np.ndarray, numeric: list[str], categorical: list[str],
                     features: list[str], log_columns: frozenset[str] | set[str] = frozenset()) -> list[dict]:
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
    log_columns : set of str
        Columns clustered on a log scale (heavy right tails). Their z-score is measured on
        that scale and they are compared by median, so that a few extreme customers
        (wholesalers in a retail log) do not decide what counts as "high".
    """
    n = len(labels)
    scaled = {name: _scaled(data[name].to_numpy(dtype="float64"), name in log_columns) for name in numeric}
    overall = {name: _stats(data[name].to_numpy(dtype="float64")) for name in numeric}
    spread = {name: _stats(values) for name, values in scaled.items()}
    segments = [s for s in np.unique(labels) if s >= 0] + ([-1] if (labels < 0).any() else [])
    profiles = []
    for segment in segments:
        members = labels == segment
        profile = {}
        for name in numeric:
            stats = _stats(data[name].to_numpy(dtype="float64")[members])
            base = overall[name]
            centre, sd = spread[name]["mean"], spread[name]["std"]
            z = (_stats(scaled[name][members])["mean"] - centre) / sd if sd > 0 else 0.0
            lift = stats["mean"] / base["mean"] if base["mean"] != 0 else None
            profile[name] = {
                "mean": stats["mean"], "median": stats["median"],
                "overall_mean": base["mean"], "overall_median": base["median"],
                "z": float(z) if np.isfinite(z) else 0.0,
                "lift": float(lift) if lift is not None and np.isfinite(lift) else None,
                "log_scale": name in log_columns,
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
            "top_features": [{"feature": f, **profile[f]} for f in top],
            "top_levels": _top_levels(data, members, [c for c in categorical if c in features]),
        })
    _name_segments(profiles, data, categorical, features)
    for segment in profiles:
        segment["description"] = describe(segment)
    return profiles


#: A category level sets a segment apart when it makes up at least this share of it...
LEVEL_SHARE = 0.6
#: ...and at least this many times its share among all customers.
LEVEL_LIFT = 1.5


def _top_levels(data: pd.DataFrame, members: np.ndarray, columns: list[str]) -> list[dict]:
    """Levels of categorical feature columns that dominate a segment, strongest first."""
    found = []
    for column in columns:
        overall = _shares(data[column])
        for level, share in _shares(data[column][members]).items():
            base = overall.get(level, 0.0)
            if share >= LEVEL_SHARE and base > 0 and share / base >= LEVEL_LIFT:
                found.append({"feature": column, "level": level, "share": share, "overall_share": base})
    return sorted(found, key=lambda item: -item["share"] / item["overall_share"])


def _scaled(values: np.ndarray, log: bool) -> np.ndarray:
    return np.log1p(np.maximum(values, 0.0)) if log else values


def comparison(item: dict) -> str:
    """How a segment's value compares, in the column's units: ``"(median 2,340 vs 1,020)"``
    for a log-scale column, ``"(82.1 vs 50.2)"`` (means) otherwise."""
    if item.get("log_scale"):
        return f"(median {_fmt(item['median'])} vs {_fmt(item['overall_median'])})"
    return f"({_fmt(item['mean'])} vs {_fmt(item['overall_mean'])})"


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
    # The clearest features first: of those that set the segment apart, readable ones lead and
    # codes for missing ("contact unknown") come last: a fact to describe, not a segment's name.
    top = sorted(segment["top_features"], key=lambda item: _naming_rank(item["feature"]))[:depth]
    for item in top:
        phrase = _phrase(item["feature"], item["z"])
        if phrase in phrases:
            continue
        # "Young, high spending" reads better than "High spending, young".
        if concept_of(item["feature"]).key == "age":
            phrases.insert(0, phrase)
        else:
            phrases.append(phrase)
    for item in segment.get("top_levels", [])[:max(depth - len(phrases), 0)]:
        phrases.append(f"{column_label(item['feature'])} {item['level']}")
    if not phrases:
        return "Average customers"
    name = ", ".join(phrases)
    if top and _naming_rank(top[0]["feature"]) != (False, False):
        # Nothing but codes to name it by: say it is a segment, then what sets it apart.
        return f"Segment {segment['id']}: {name}"
    return name[0].upper() + name[1:]


def _naming_rank(feature: str) -> tuple[bool, bool]:
    """Sort key of the features a name may use: readable measures first, codes for missing last."""
    return CODE_INDICATOR.fullmatch(str(feature)) is not None, not readable(feature)


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
        facts.append(f"{column_label(item['feature'])} {abs(item['z']):.1f} SD {side} average {comparison(item)}")
    if not facts:
        return text + " No feature differs from the average by more than half a standard deviation."
    joined = "; ".join(facts)
    return f"{text} {joined[0].upper()}{joined[1:]}."


def _fmt(value: float) -> str:
    """A value for a sentence: 2,340 / 82.1 / 90 / 0.375 (no trailing ``.0``)."""
    if not np.isfinite(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) < 1:
        return f"{value:.3g}"
    return f"{value:.1f}".removesuffix(".0")


#: Decision-tree rules are fitted on at most this many customers (seeded sample).
RULE_SAMPLE = 20000
#: Depth of the tree that describes a segment: at most this many conditions per rule.
RULE_DEPTH = 3


def segment_rules(data: pd.DataFrame, labels: np.ndarray, columns: list[str], random_state: int) -> dict:
    """Short rules that describe each segment, from a shallow one-vs-rest decision tree.

    For each segment a tree of depth ``RULE_DEPTH`` separates it from everyone else; the
    leaf that best recovers the segment (highest F1) becomes the rule, its conditions in
    the columns' own units. Precision (customers matching the rule who are in the segment)
    and recall (share of the segment the rule covers) are measured on every customer.

    Returns
    -------
    dict
        Segment id -> ``{"conditions", "precision", "recall"}`` or None where no leaf
        holds a majority of the segment's customers.
    """
    from sklearn.tree import DecisionTreeClassifier

    if not columns:
        return {}
    matrix = data[columns].to_numpy(dtype="float64")
    rng = np.random.default_rng(random_state)
    n = len(labels)
    fit_rows = np.sort(rng.choice(n, RULE_SAMPLE, replace=False)) if n > RULE_SAMPLE else np.arange(n)
    rules = {}
    for segment in np.unique(labels[labels >= 0]):
        target = labels == segment
        tree = DecisionTreeClassifier(max_depth=RULE_DEPTH, random_state=random_state,
                                      min_samples_leaf=max(1, len(fit_rows) // 200))
        tree.fit(matrix[fit_rows], target[fit_rows])
        rules[int(segment)] = _best_leaf_rule(tree, matrix, target, columns)
    return rules


def _best_leaf_rule(tree, matrix: np.ndarray, target: np.ndarray, columns: list[str]) -> dict | None:
    leaves = tree.apply(matrix)
    best, best_f1 = None, 0.0
    for leaf in np.unique(leaves):
        inside = leaves == leaf
        hits = int((inside & target).sum())
        if hits == 0:
            continue
        precision, recall = hits / int(inside.sum()), hits / int(target.sum())
        f1 = 2 * precision * recall / (precision + recall)
        if precision > 0.5 and f1 > best_f1:
            best, best_f1 = (leaf, precision, recall), f1
    if best is None:
        return None
    leaf, precision, recall = best
    return {"conditions": _path_conditions(tree, leaf, columns), "precision": precision, "recall": recall}


def _path_conditions(tree, leaf: int, columns: list[str]) -> list[str]:
    """Conditions on the path to ``leaf``, merged to one lower and one upper bound per column."""
    structure = tree.tree_
    parent = {}
    for node in range(structure.node_count):
        for child, side in ((structure.children_left[node], "<="), (structure.children_right[node], ">")):
            if child != -1:
                parent[child] = (node, side)
    bounds: dict[int, list] = {}
    node = leaf
    while node in parent:
        node, side = parent[node]
        feature, threshold = int(structure.feature[node]), float(structure.threshold[node])
        low, high = bounds.setdefault(feature, [None, None])
        if side == "<=":
            bounds[feature][1] = threshold if high is None else min(high, threshold)
        else:
            bounds[feature][0] = threshold if low is None else max(low, threshold)
    conditions = []
    for feature in sorted(bounds):
        low, high = bounds[feature]
        name = columns[feature]
        if low is not None and high is not None:
            conditions.append(f"{_threshold(low)} < {name} <= {_threshold(high)}")
        elif low is not None:
            conditions.append(f"{name} > {_threshold(low)}")
        else:
            conditions.append(f"{name} <= {_threshold(high)}")
    return conditions


def _threshold(value: float) -> str:
    """A split point without noise digits: 50, 54.5, 0.375, 12,346."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def key_findings(segments: list[dict], silhouette: float | None, strength: str) -> list[str]:
    """The two or three findings that matter most, in plain words with numbers.

    ``strength`` is a reading of the structure whose part before a colon names it
    ("reasonable structure", "natural groups", "no strong natural split").
    """
    placed = [s for s in segments if s["id"] >= 0]
    findings = []
    if silhouette is not None:
        findings.append(f"Customers fall into {len(placed)} segments: {strength.split(':')[0]} "
                        f"(silhouette {silhouette:.2f}).")
    unstable = [s for s in placed if s.get("unstable")]
    if unstable:
        names = ", ".join(f"“{s['name']}”" for s in unstable)
        findings.append(f"{names} {'is' if len(unstable) == 1 else 'are'} unstable: not reliably found "
                        "again when refitted, so do not act on "
                        f"{'it' if len(unstable) == 1 else 'them'} alone.")
    largest = max(placed, key=lambda s: s["size"])
    findings.append(f"The largest segment, “{largest['name']}”, holds {largest['share']:.0%} of customers.")
    spenders = [(s, f, s["profile"][f]["z"]) for s in placed if s is not largest for f in s["profile"]
                if concept_of(f).key == "spending"]
    if spenders:
        segment, feature, z = max(spenders, key=lambda item: item[2])
        if z > 0:
            findings.append(f"“{segment['name']}” ({segment['share']:.0%} of customers) has "
                            f"{column_label(feature)} {z:.1f} SD above average: the group to protect.")
    if len(findings) < 3:
        stand_out = [(s, t) for s in placed if s is not largest for t in s["top_features"][:1]]
        if stand_out:
            segment, top = max(stand_out, key=lambda item: abs(item[1]["z"]))
            side = "above" if top["z"] > 0 else "below"
            findings.append(f"“{segment['name']}” stands out most: {column_label(top['feature'])} "
                            f"{abs(top['z']):.1f} SD {side} average.")
    noise = [s for s in segments if s["id"] < 0]
    if noise:
        findings.append(f"{noise[0]['share']:.1%} of customers fit no segment and are listed as unusual.")
    return findings[:3] if not noise else findings[:2] + findings[-1:]
