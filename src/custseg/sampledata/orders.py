"""The orders of a generated order-line log and their lines: customers' orders archetype by
archetype, postage and manual lines, cancellations, and guest orders without a customer id.

Orders and lines are dicts of equal-length arrays; a line's ``invoice`` is the index of its
order in the same block and ``pos`` its place in that order.
"""

from __future__ import annotations

import numpy as np

from .buyers import (
    BUYER_ARCHETYPES,
    COUNTRIES,
    COUNTRY_SHARES,
    MOVER_ORDERS,
    BuyerArchetype,
    draw_days,
    draw_minutes,
)
from .catalogue import catalogue, draw_products, non_product, product_cdf, snap_to_packs

__all__ = ["concat", "draw_cancellations", "draw_customer_orders", "draw_extra_lines", "draw_guest_orders"]

FAVOURITES = 12  # products each customer tends to buy again
MONTH_DAYS = 30.4
POSTAGE_PRICE = {"Switzerland": 40.0, "Norway": 40.0}  # other countries outside the UK: 18.00
CARRIAGE_PRICE = 50.0  # C2, on orders from EIRE
POSTAGE_SHARE = 0.8  # of orders from outside the UK and EIRE that carry a POST line
CARRIAGE_SHARE = 0.6  # of orders from EIRE that carry a C2 line
DOTCOM_SHARE = 0.6  # of guest orders that carry a DOT line
MANUAL_SHARE = 0.003  # of customer orders with a manual adjustment line
GUEST_LINES = 8.0  # mean product lines of a guest order
GUEST_QUANTITY = 3.0


def _within(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., c-1 for each count c, concatenated."""
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def draw_customer_orders(
    rng: np.random.Generator,
    segment: np.ndarray,
    n_segments: int,
    home: np.ndarray,
    away: np.ndarray,
    calendar: tuple[np.ndarray, np.ndarray],
    returns: float,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Orders of every customer, archetype by archetype, and their product lines.

    ``calendar`` holds the cumulative day weights of `custseg.sampledata.buyers.day_weights`;
    ``home`` and ``away`` each customer's countries.
    """
    order_parts, line_parts = [], []
    n_before = 0
    for j, arch in enumerate(BUYER_ARCHETYPES[:n_segments]):
        members = np.flatnonzero(segment == j)
        who, day = _draw_order_days(rng, arch, members.size, calendar)
        orders = _draw_orders(rng, arch, members, who, day, (home, away), returns)
        order_parts.append(orders)
        line_parts.append(_draw_order_lines(rng, arch, members.size, who, orders["n_lines"], n_before))
        n_before += who.size
    return concat(order_parts), concat(line_parts)


def _draw_order_days(
    rng: np.random.Generator, arch: BuyerArchetype, m: int, calendar: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The orders of ``m`` customers of one archetype: each order's customer (0..m-1) and day,
    inside each customer's active window."""
    base_cum, season_cum = calendar
    n_days = base_cum.size - 1
    a = np.rint(rng.uniform(*arch.first, m) * (n_days - 1)).astype(np.int64)
    b = np.rint(rng.uniform(*arch.last, m) * (n_days - 1)).astype(np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    if arch.pattern == "monthly":
        counts = ((hi - lo) / MONTH_DAYS).astype(np.int64) + 1
        who = np.repeat(np.arange(m), counts)
        step = np.rint(_within(counts) * MONTH_DAYS).astype(np.int64)
        day = np.clip(lo[who] + step + rng.integers(-2, 3, who.size), 0, n_days - 1)
    else:
        extra = max(arch.orders - arch.min_orders, 0.0) * rng.gamma(6.0, 1.0 / 6.0, m)
        counts = arch.min_orders + rng.poisson(extra)
        who = np.repeat(np.arange(m), counts)
        cum = season_cum if arch.pattern == "season" else base_cum
        day = draw_days(rng, cum, lo[who], hi[who])
    return who, day


def _draw_orders(
    rng: np.random.Generator,
    arch: BuyerArchetype,
    members: np.ndarray,
    who: np.ndarray,
    day: np.ndarray,
    countries: tuple[np.ndarray, np.ndarray],
    returns: float,
) -> dict[str, np.ndarray]:
    """The orders of one archetype's customers ``members``, order by order (``who``: index
    into ``members``; ``day``): minute, country, number of product lines, and the chance and
    share of lines of a later cancellation."""
    home, away = countries
    n = who.size
    customer = members[who]
    moved = rng.random(n) < MOVER_ORDERS
    n_lines = 1 + rng.poisson((arch.lines - 1.0) * rng.gamma(5.0, 1.0 / 5.0, members.size)[who])
    return {
        "customer": customer,
        "day": day,
        "minute": draw_minutes(rng, n),
        "country": np.where(moved, away[customer], home[customer]),
        "n_lines": n_lines,
        "p_return": np.full(n, min(1.0, returns * arch.returns)),
        "return_lines": np.full(n, arch.return_lines),
    }


def _draw_order_lines(
    rng: np.random.Generator, arch: BuyerArchetype, m: int, who: np.ndarray, n_lines: np.ndarray, n_before: int
) -> dict[str, np.ndarray]:
    """The product lines of the orders of ``m`` customers of one archetype (``who``: each
    order's customer; ``n_before``: orders of the archetypes before): products (often the
    customer's favourites), quantities around the customer's habit, catalogue prices."""
    _, _, price, _ = catalogue()
    order = np.repeat(np.arange(who.size), n_lines)
    line_who = who[order]
    habit = arch.quantity * np.exp(rng.normal(0.0, 0.3, m))
    quantity = snap_to_packs(habit[line_who] * np.exp(rng.normal(0.0, 0.6, order.size)))
    cdf = product_cdf(arch.cheapness)
    favourites = draw_products(rng, cdf, (m, FAVOURITES))
    fresh = draw_products(rng, cdf, order.size)
    pick = rng.integers(0, FAVOURITES, order.size)
    loyal = rng.random(order.size) < arch.loyalty
    product = np.where(loyal, favourites[line_who, pick], fresh)
    return {
        "invoice": order + n_before,
        "pos": _within(n_lines),
        "product": product,
        "quantity": quantity,
        "price": price[product],
    }


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Blocks with the same keys, one after the other.

    Examples
    --------
    >>> concat([{"day": np.array([3])}, {"day": np.array([1, 2])}])
    {'day': array([3, 1, 2])}
    """
    keys = parts[0].keys()
    return {key: np.concatenate([part[key] for part in parts]) for key in keys}


def _lines_block(invoice, pos, product, quantity, price) -> dict[str, np.ndarray]:
    return {
        "invoice": np.asarray(invoice, dtype=np.int64),
        "pos": np.asarray(pos, dtype=np.int64),
        "product": np.asarray(product, dtype=np.int64),
        "quantity": np.asarray(quantity, dtype=np.int64),
        "price": np.asarray(price, dtype=np.float64),
    }


def draw_extra_lines(
    rng: np.random.Generator, orders: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Postage (POST outside the UK, C2 carriage to EIRE) and rare manual lines, each after
    the product lines of its order."""
    n = orders["day"].size
    country = orders["country"]
    eire = country == COUNTRIES.index("EIRE")
    abroad = (country != COUNTRIES.index("United Kingdom")) & ~eire
    post = abroad & (rng.random(n) < POSTAGE_SHARE)
    carriage = eire & (rng.random(n) < CARRIAGE_SHARE)
    manual = rng.random(n) < MANUAL_SHARE
    shipped = np.flatnonzero(post | carriage)
    post_price = np.array([POSTAGE_PRICE.get(name, 18.0) for name in COUNTRIES])
    shipping = _lines_block(
        shipped,
        orders["n_lines"][shipped],
        np.where(post[shipped], non_product("POST"), non_product("C2")),
        np.where(post[shipped], rng.integers(1, 4, shipped.size), 1),
        np.where(post[shipped], post_price[country[shipped]], CARRIAGE_PRICE),
    )
    adjusted = np.flatnonzero(manual)
    adjustments = _lines_block(
        adjusted,
        orders["n_lines"][adjusted] + (post | carriage)[adjusted],
        np.full(adjusted.size, non_product("M")),
        np.ones(adjusted.size),
        np.round(rng.uniform(0.5, 60.0, adjusted.size), 2),
    )
    return concat([shipping, adjustments])


def draw_cancellations(
    rng: np.random.Generator,
    orders: dict[str, np.ndarray],
    bought: dict[str, np.ndarray],
    n_days: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Cancellation invoices for some orders: a subset of their product lines, later."""
    n = orders["day"].size
    chosen = rng.random(n) < orders["p_return"]
    of_line = bought["invoice"]
    picked = chosen[of_line] & (rng.random(of_line.size) < orders["return_lines"][of_line])
    has_line = np.zeros(n, dtype=bool)
    has_line[of_line[picked]] = True
    bare = np.flatnonzero(chosen & ~has_line)  # cancel at least one line of each
    first_line = np.cumsum(orders["n_lines"]) - orders["n_lines"]
    picked[first_line[bare] + rng.integers(0, orders["n_lines"][bare])] = True
    cancelled = np.flatnonzero(chosen)
    cancel_of_order = np.full(n, -1, dtype=np.int64)
    cancel_of_order[cancelled] = np.arange(cancelled.size)
    src = np.flatnonzero(picked)
    invoice = cancel_of_order[of_line[src]]
    bought_units = bought["quantity"][src]
    back = np.where(rng.random(src.size) < 0.3, bought_units, rng.integers(1, bought_units + 1))
    returned = _lines_block(
        invoice,
        _within(np.bincount(invoice, minlength=cancelled.size)),
        bought["product"][src],
        -back,
        bought["price"][src],
    )
    order_day = orders["day"][cancelled]
    order_minute = orders["minute"][cancelled]
    day = order_day + rng.integers(1, 22, cancelled.size)
    late = np.flatnonzero(day >= n_days)  # past the end: any day from the order's to the last
    spread = rng.random(late.size) * (n_days - order_day[late])
    day[late] = order_day[late] + spread.astype(np.int64)
    minute = draw_minutes(rng, cancelled.size)
    same_day = np.flatnonzero(day == order_day)  # near the end: later the same day
    minute[same_day] = order_minute[same_day] + rng.integers(30, 181, same_day.size)
    invoices = {
        "customer": orders["customer"][cancelled],
        "day": day,
        "minute": minute,
        "country": orders["country"][cancelled],
        "cancel": np.ones(cancelled.size, dtype=bool),
    }
    return invoices, returned


def draw_guest_orders(
    rng: np.random.Generator, n_lines: int, calendar: tuple[np.ndarray, np.ndarray]
) -> tuple[dict[str, np.ndarray], list[dict[str, np.ndarray]]]:
    """Orders without a customer id with exactly ``n_lines`` lines (some with a DOT line)."""
    base_cum = calendar[0]
    n_days = base_cum.size - 1
    products, dots = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=bool)]
    drawn, batch = 0, int(np.ceil(n_lines / (GUEST_LINES + DOTCOM_SHARE))) + 16
    while drawn < n_lines:
        products.append(1 + rng.poisson(GUEST_LINES - 1.0, batch))
        dots.append(rng.random(batch) < DOTCOM_SHARE)
        drawn += int(products[-1].sum() + dots[-1].sum())
    n_products, dot = np.concatenate(products), np.concatenate(dots)
    total = np.cumsum(n_products + dot)
    n = int(np.searchsorted(total, n_lines)) + 1 if n_lines else 0
    n_products, dot = n_products[:n].copy(), dot[:n].copy()
    if n:
        excess = int(total[n - 1]) - n_lines
        if excess and dot[-1]:
            dot[-1], excess = False, excess - 1
        n_products[-1] -= excess
    order = np.repeat(np.arange(n), n_products)
    product = draw_products(rng, product_cdf(0.0), order.size)
    quantity = snap_to_packs(GUEST_QUANTITY * np.exp(rng.normal(0.0, 0.7, order.size)))
    _, _, price, _ = catalogue()
    with_dot = np.flatnonzero(dot)
    invoices = {
        "customer": np.full(n, -1, dtype=np.int64),
        "day": draw_days(rng, base_cum, np.zeros(n, np.int64), np.full(n, n_days - 1)),
        "minute": draw_minutes(rng, n),
        "country": rng.choice(len(COUNTRIES), size=n, p=np.asarray(COUNTRY_SHARES)),
        "cancel": np.zeros(n, dtype=bool),
    }
    lines = [
        _lines_block(order, _within(n_products), product, quantity, price[product]),
        _lines_block(
            with_dot,
            n_products[with_dot],
            np.full(with_dot.size, non_product("DOT")),
            np.ones(with_dot.size),
            np.round(n_products[with_dot] * rng.uniform(1.2, 2.0, with_dot.size), 2),
        ),
    ]
    return invoices, lines
