"""Suggest marketing actions for each segment, each with the profile fact that triggered it."""

from __future__ import annotations

from .profile import DISTINCT_Z, column_label, comparison, concept_of

#: Share of a segment's customers at risk (P(alive) < 0.5) from which its first action is to
#: win them back (`value_at_risk_action`): a handful among thousands is no segment's priority.
AT_RISK_ACTION_SHARE = 0.05

#: (concept, direction, action); direction +1 when the concept is high, -1 when low.
SINGLE_RULES = [
    ("spending", +1, "Protect and grow your top spenders: personal recommendations and loyalty perks."),
    ("spending", -1, "Activate spending with a targeted bundle or first-purchase offer."),
    ("income", +1, "Lead with premium ranges and quality messages."),
    ("income", -1, "Lead with value ranges, promotions and instalment-free pricing."),
    ("age", -1, "Reach them on social media and mobile channels, with trend-led creative."),
    ("age", +1, "Favour e-mail, print and in-store service; stress quality and reassurance."),
    ("visits", +1, "Enrol them in a loyalty programme and ask for referrals."),
    ("visits", -1, "Send a win-back reminder with a time-limited incentive to visit."),
    ("frequency", +1, "Enrol them in a loyalty programme and ask for referrals."),
    ("frequency", -1, "Nudge a second purchase with a personalised reminder and a small incentive."),
    ("online", +1, "Put the budget into digital: app, e-mail and retargeting campaigns."),
    ("online", -1, "Invite them to in-store events and offer click-and-collect to bring them online."),
    ("tenure", -1, "Run an onboarding journey: welcome offer and a reason for a second purchase."),
    ("tenure", +1, "Thank them for their loyalty with anniversary rewards; invite referrals."),
    ("recency", +1, "Win them back now: a personal offer before they lapse for good."),
    ("recency", -1, "Keep the momentum: recommend complementary products while they are active."),
    ("returns", +1, "Review fit and description of returned products; offer sizing help."),
    ("basket", +1, "Offer volume tiers and bundles; assign an account contact to the biggest buyers."),
    ("basket", -1, "Raise basket size with free-shipping thresholds and add-on suggestions."),
    ("breadth", +1, "Cross-sell from the full range; invite them to try new collections first."),
    ("breadth", -1, "Recommend products next to the few they already buy."),
    ("momentum", +1, "Ride the momentum: timely recommendations while their spending grows."),
    ("momentum", -1, "Their spending is fading: check in with a personal offer before they lapse."),
    ("cadence", +1, "Time reminders to their slow buying cycle instead of frequent mailings."),
]

#: (concept a, direction a, concept b, direction b, action)
PAIR_RULES = [
    ("income", +1, "spending", +1, "Treat as VIPs: premium service, early access and exclusive offers."),
    ("income", +1, "spending", -1,
     "Upsell: they can afford more; test premium products and find out what holds them back."),
    ("income", -1, "spending", +1,
     "Reward their loyalty with value bundles and points; avoid pushing credit."),
    ("income", -1, "spending", -1,
     "Keep service costs low: automated, discount-led messages; do not overspend on them."),
    ("recency", -1, "spending", +1,
     "Recent big spenders: treat as VIPs now, with early access and a personal thank-you."),
    ("recency", +1, "spending", +1,
     "Big spenders who have gone quiet: a personal win-back call or offer before they are lost."),
    ("recency", +1, "frequency", -1,
     "Lapsed occasional buyers: one low-cost reactivation campaign, then stop spending on them."),
]


def suggest_actions(segment: dict, features: list[str]) -> list[dict]:
    """Actions for one profiled segment, most specific first (at most three).

    Parameters
    ----------
    segment : dict
        A profile from `custseg.explaining.profile.profile_segments`.
    features : list of str
        The columns the segmentation was built on; only these trigger actions.
    """
    if segment["id"] == -1:
        return [{
            "action": "Review these customers individually before any campaign: they fit no segment.",
            "reason": f"DBSCAN found {segment['size']:,} customers far from every dense group.",
        }]
    facts = _facts(segment, features)
    ranked: list[tuple[float, str, str]] = []   # (strength, action, reason)
    for concept_a, dir_a, concept_b, dir_b, action in PAIR_RULES:
        if (concept_a, dir_a) in facts and (concept_b, dir_b) in facts:
            (text_a, z_a), (text_b, z_b) = facts[concept_a, dir_a], facts[concept_b, dir_b]
            ranked.append(((z_a + z_b) / 2, action, f"{text_a} and {text_b}"))
    paired = set()
    for concept_a, dir_a, concept_b, dir_b, _ in PAIR_RULES:
        if (concept_a, dir_a) in facts and (concept_b, dir_b) in facts:
            paired |= {concept_a, concept_b}
    for concept, direction, action in SINGLE_RULES:
        if (concept, direction) in facts and concept not in paired:
            text, z = facts[concept, direction]
            ranked.append((z, action, text))
    for item in segment["top_features"]:
        if concept_of(item["feature"]).key is None:
            label = column_label(item["feature"])
            if item["z"] > 0:
                action = f"Build offers around {label}: cross-sell and bundle where they already spend."
            else:
                action = f"Test an introductory offer on {label}, where they are below average."
            ranked.append((abs(item["z"]), action, _fact_text(item)))
    for item in segment.get("top_levels", []):
        label = f"{column_label(item['feature'])} {item['level']}"
        ranked.append((item["share"] / item["overall_share"] - 1.0,
                       f"Tailor offers and messages to {label}, which defines this segment.",
                       f"{item['share']:.0%} of the segment is {label}, against "
                       f"{item['overall_share']:.0%} of all customers"))
    actions: list[dict] = []
    # Strongest fact first; stable order keeps pair rules ahead of single ones on ties.
    for _, action, reason in sorted(ranked, key=lambda item: -item[0]):
        _add(actions, action, reason)
    if not actions:
        _add(actions, "Include them in broad campaigns and A/B-test offers to learn what moves them.",
             "no feature sets this segment apart by more than half a standard deviation")
    return actions[:3]


def _facts(segment: dict, features: list[str]) -> dict:
    """(concept, direction) -> (reason text, |z|), from features that differ by |z| >= DISTINCT_Z."""
    facts = {}
    for feature in features:
        stats = segment["profile"].get(feature)
        if stats is None or abs(stats["z"]) < DISTINCT_Z:
            continue
        key = concept_of(feature).key
        direction = 1 if stats["z"] > 0 else -1
        if key is not None and (key, direction) not in facts:
            facts[key, direction] = (_fact_text({"feature": feature, **stats}), abs(stats["z"]))
    return facts


def _fact_text(item: dict) -> str:
    side = "above" if item["z"] > 0 else "below"
    return f"{column_label(item['feature'])} is {abs(item['z']):.1f} SD {side} average {comparison(item)}"


def _add(actions: list[dict], action: str, reason: str) -> None:
    if all(existing["action"] != action for existing in actions):
        actions.append({"action": action, "reason": reason})


def value_at_risk_action(value: dict) -> dict | None:
    """The action a segment's value at risk calls for, or None when too few of its customers
    are at risk (below `AT_RISK_ACTION_SHARE`) or, with money, they spent nothing last year.

    Parameters
    ----------
    value : dict
        The segment's entry of the summary's ``value.segments``
        (`custseg.valuing.at_risk.segment_values`): ``customers``, ``at_risk_customers`` and
        ``value_at_risk`` (None for a log without money: counted in customers only).

    Examples
    --------
    >>> value_at_risk_action({"customers": 3000, "at_risk_customers": 1210, "value_at_risk": 84000.4})["action"]
    '1,210 customers who spent 84,000 last year are probably lapsing: win them back first.'
    >>> value_at_risk_action({"customers": 300, "at_risk_customers": 40, "value_at_risk": None})["action"]
    '40 customers are probably lapsing: win them back first.'
    >>> value_at_risk_action({"customers": 3000, "at_risk_customers": 10, "value_at_risk": 500.0}) is None
    True
    """
    at_risk, customers, money = value["at_risk_customers"], value["customers"], value.get("value_at_risk")
    if not customers or at_risk / customers < AT_RISK_ACTION_SHARE or (money is not None and money <= 0):
        return None
    who = "customer" if at_risk == 1 else "customers"
    verb = "is" if at_risk == 1 else "are"
    spent = "" if money is None else f" who spent {money:,.0f} last year"
    reason = (f"{at_risk:,} of {customers:,} customers ({at_risk / customers:.0%}) are more likely gone than "
              f"alive (P(alive) below 0.5)")
    if money is not None:
        reason += f"; they spent {money:,.0f} in the last year"
    return {"action": f"{at_risk:,} {who}{spent} {verb} probably lapsing: win them back first.", "reason": reason}


def with_value_actions(segments: list[dict], values: list[dict]) -> None:
    """Put each segment's value-at-risk action (`value_at_risk_action`) first among its
    actions (at most three in all), in place; ``values`` is the summary's ``value.segments``."""
    by_id = {v["segment"]: v for v in values}
    for segment in segments:
        value = by_id.get(segment["id"])
        action = None if value is None else value_at_risk_action(value)
        if action is not None:
            rest = [a for a in segment["actions"] if a["action"] != action["action"]]
            segment["actions"] = [action, *rest][:3]


def by_value_at_risk(segments: list[dict], values: list[dict] | None) -> list[dict]:
    """The segments with the most value at risk first (money, then customers at risk), the
    others after in their order; unchanged without ``values`` (a customer table).

    Examples
    --------
    >>> values = [{"segment": 0, "value_at_risk": 10.0, "at_risk_customers": 5},
    ...           {"segment": 1, "value_at_risk": 90.0, "at_risk_customers": 2}]
    >>> [s["id"] for s in by_value_at_risk([{"id": 0}, {"id": 1}, {"id": 2}], values)]
    [1, 0, 2]
    """
    if not values:
        return list(segments)
    by_id = {v["segment"]: v for v in values}

    def risk(segment: dict) -> tuple:
        value = by_id.get(segment["id"]) or {}
        return (-(value.get("value_at_risk") or 0.0), -(value.get("at_risk_customers") or 0))

    return sorted(segments, key=risk)
