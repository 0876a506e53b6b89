"""Retail order-line logs (UCI Online Retail layout) with planted behaviour segments.

`generate_transactions` draws customers from buyer archetypes (loyal frequent buyers, lapsed
buyers, ...) that differ in how they buy, with seasonality, returns, guest orders and
wholesalers (`custseg.sampledata.buyers`, `custseg.sampledata.orders`), then numbers the
invoices in time order and writes the log's columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .buyers import BUYER_ARCHETYPES, COUNTRIES, day_weights, draw_countries
from .catalogue import CATALOGUE_SIZE, TEXT, catalogue
from .customers import draw_segments
from .orders import (
    concat,
    draw_cancellations,
    draw_customer_orders,
    draw_extra_lines,
    draw_guest_orders,
)

__all__ = ["TRANSACTION_COLUMNS", "generate_transactions"]

TRANSACTION_COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
FIRST_INVOICE = 100001  # invoices are numbered in time order from here
FIRST_CUSTOMER_ID = 10001


def generate_transactions(
    n_customers: int = 2000, n_segments: int = 4, *, random_state: int = 0, start: str = "2024-01-01",
    end: str = "2024-12-31", missing_ids: float = 0.02, returns: float = 0.03, wholesalers: float = 0.005,
) -> tuple[pd.DataFrame, pd.Series]:
    """Generate a retail order-line log with planted behaviour segments.

    Customers are drawn from `BUYER_ARCHETYPES` (loyal frequent buyers, big-basket
    occasional buyers, one-time recent buyers, lapsed buyers, ...), which differ in how
    often, when, how much and what they buy, so that the true segment of every customer is
    known. Orders follow the shop's seasonality (busier in November and December, quiet on
    Saturdays), products come from a fixed catalogue of 320 items, and the log has what real
    exports have: cancellations, non-product codes (``POST``, ``C2``, ``DOT``, ``M``), guest
    orders without a customer id, a few wholesalers and a few customers in two countries.

    Parameters
    ----------
    n_customers : int, default=2000
        Number of customers with an id; at least ``n_segments``.
    n_segments : int, default=4
        Number of planted segments K; the first K of `BUYER_ARCHETYPES` are used.
    random_state : int, default=0
        Seed; the same arguments give an identical log.
    start, end : str, default="2024-01-01", "2024-12-31"
        First and last day of the log (``YYYY-MM-DD``); `end` after `start`.
    missing_ids : float, default=0.02
        Share (0 to below 1) of all lines that have no customer id: the lines of extra
        guest orders, which belong to no customer and are not in `truth`.
    returns : float, default=0.03
        Share (0-1) of invoices that get a cancellation invoice: some of their lines, with
        negative quantity, dated 1-21 days later (sooner near the end of the period, when
        it may fall later on the same day). High-return customers get 15 times this share
        (at most all invoices).
    wholesalers : float, default=0.005
        Share (0-1) of customers who buy 20-100 times the usual quantities; they keep their
        archetype in `truth`. With the same other arguments, only their quantities change.

    Returns
    -------
    lines : pandas.DataFrame
        One row per order line in the UCI Online Retail layout, sorted by date then
        invoice. ``InvoiceNo`` (str: 6 digits from 100001, numbered in time order, more
        digits past 999999; ``"C"`` + number for cancellations), ``StockCode`` (str),
        ``Description`` (str), ``Quantity`` (int64, negative on cancellations),
        ``InvoiceDate`` (str, ``"YYYY-MM-DD HH:MM:SS"``), ``UnitPrice`` (float64, 2
        decimals), ``CustomerID`` (str from ``"10001"``; missing on guest orders),
        ``Country`` (str).
    truth : pandas.Series
        The planted segment (0..K-1) of each customer, indexed by ``CustomerID`` (str) in
        id order, named ``"segment"``.

    Notes
    -----
    Lines per customer differ by archetype (see `custseg.sampledata.buyers`); with the
    default settings a log has about 88 lines per customer with K = 4, guest lines included
    (100,000 customers: about 8.8 million lines, built in a few seconds with under 3 GB of
    memory at peak), and about 68 with K = 10.

    Examples
    --------
    >>> lines, truth = generate_transactions(200, 3, random_state=1)
    >>> lines.columns[:4].tolist()
    ['InvoiceNo', 'StockCode', 'Description', 'Quantity']
    >>> truth.index.name, sorted(truth.unique().tolist())
    ('CustomerID', [0, 1, 2])
    """
    first_day, n_days = _check_transaction_arguments(
        n_customers, n_segments, start, end, missing_ids, returns, wholesalers
    )
    rng = np.random.default_rng(random_state)
    segment = draw_segments(rng, n_customers, n_segments)
    calendar = day_weights(first_day, n_days)
    invoices, lines = _draw_log(rng, segment, n_segments, calendar, returns, missing_ids)
    _plant_wholesalers(rng, n_customers, wholesalers, invoices, lines)
    ids = [str(FIRST_CUSTOMER_ID + i) for i in range(n_customers)]
    table = _assemble(invoices, lines, first_day, n_days, ids)
    truth = pd.Series(segment, index=pd.Index(ids, name="CustomerID"), name="segment", dtype="int64")
    return table, truth


def _draw_log(
    rng: np.random.Generator,
    segment: np.ndarray,
    n_segments: int,
    calendar: tuple[np.ndarray, np.ndarray],
    returns: float,
    missing_ids: float,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Invoices and lines of the customers' orders (with postage and manual lines), their
    cancellations, and guest orders holding ``missing_ids`` of all lines."""
    home, away = draw_countries(rng, segment.size)
    orders, bought = draw_customer_orders(rng, segment, n_segments, home, away, calendar, returns)
    extras = draw_extra_lines(rng, orders)
    cancellations, returned = draw_cancellations(rng, orders, bought, calendar[0].size - 1)
    n_customer_lines = bought["invoice"].size + extras["invoice"].size + returned["invoice"].size
    n_guest_lines = int(round(missing_ids * n_customer_lines / (1.0 - missing_ids)))
    guests, guest_lines = draw_guest_orders(rng, n_guest_lines, calendar)
    return _stack([orders, cancellations, guests], [[bought, extras], [returned], guest_lines])


def _check_transaction_arguments(
    n_customers: int,
    n_segments: int,
    start: str,
    end: str,
    missing_ids: float,
    returns: float,
    wholesalers: float,
) -> tuple[np.datetime64, int]:
    """Validate the arguments; return the first day and the number of days."""
    if not 1 <= n_segments <= len(BUYER_ARCHETYPES):
        raise ValueError(
            f"n_segments={n_segments} should be between 1 and {len(BUYER_ARCHETYPES)}"
        )
    if n_customers < n_segments:
        raise ValueError(f"n_customers={n_customers} should be >= n_segments={n_segments}")
    if not 0.0 <= missing_ids < 1.0:
        raise ValueError(f"missing_ids={missing_ids} should be a fraction >= 0 and below 1")
    for name, value in (("returns", returns), ("wholesalers", wholesalers)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name}={value} should be a fraction between 0 and 1")
    first, last = _parse_day("start", start), _parse_day("end", end)
    if last <= first:
        raise ValueError(f"end={end!r} should be after start={start!r}")
    return first, int((last - first) // np.timedelta64(1, "D")) + 1


def _parse_day(name: str, value: str) -> np.datetime64:
    try:
        day = pd.Timestamp(value)
    except (TypeError, ValueError):
        day = pd.NaT
    if pd.isna(day):
        raise ValueError(f"{name}={value!r} is not a date; use YYYY-MM-DD")
    return np.datetime64(day.date(), "D")



def _stack(
    invoice_blocks: list[dict[str, np.ndarray]], line_blocks: list[list[dict[str, np.ndarray]]]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One table of invoices and one of lines, line invoice numbers made global."""
    keys = ("customer", "day", "minute", "country")
    invoices = {key: np.concatenate([block[key] for block in invoice_blocks]) for key in keys}
    invoices["cancel"] = np.concatenate(
        [block.get("cancel", np.zeros(block["day"].size, dtype=bool)) for block in invoice_blocks]
    )
    parts, offset = [], 0
    for block, lines in zip(invoice_blocks, line_blocks, strict=True):
        for part in lines:
            parts.append({**part, "invoice": part["invoice"] + offset})
        offset += block["day"].size
    return invoices, concat(parts)


def _plant_wholesalers(
    rng: np.random.Generator,
    n_customers: int,
    share: float,
    invoices: dict[str, np.ndarray],
    lines: dict[str, np.ndarray],
) -> None:
    """Multiply the product quantities of ``share`` of the customers by 20-100, in place."""
    count = int(round(share * n_customers))
    if count == 0:
        return
    chosen = rng.choice(n_customers, size=count, replace=False)
    factor = np.zeros(n_customers + 1)  # the last entry serves guest lines (customer -1)
    factor[chosen] = rng.uniform(20.0, 100.0, count)
    hit = np.flatnonzero(
        (factor[invoices["customer"][lines["invoice"]]] > 0) & (lines["product"] < CATALOGUE_SIZE)
    )
    units = lines["quantity"][hit]
    scale = factor[invoices["customer"][lines["invoice"][hit]]]
    scaled = np.maximum(1, np.rint(np.abs(units) * scale)).astype(np.int64)
    lines["quantity"][hit] = np.sign(units) * scaled  # returns stay within what was bought


def _assemble(
    invoices: dict[str, np.ndarray],
    lines: dict[str, np.ndarray],
    first_day: np.datetime64,
    n_days: int,
    ids: list[str],
) -> pd.DataFrame:
    """The log: invoices numbered in time order, lines grouped by invoice in that order."""
    n_invoices = invoices["day"].size
    by_time = np.argsort(invoices["day"] * 1440 + invoices["minute"], kind="stable")
    rank = np.empty(n_invoices, dtype=np.int64)
    rank[by_time] = np.arange(n_invoices)
    sizes = np.bincount(lines["invoice"], minlength=n_invoices)[by_time]
    offsets = np.cumsum(sizes) - sizes
    source = np.empty(lines["invoice"].size, dtype=np.int64)
    source[offsets[rank[lines["invoice"]]] + lines["pos"]] = np.arange(source.size)
    line_rank = pa.array(np.repeat(np.arange(n_invoices), sizes))

    numbers = pa.array(FIRST_INVOICE + np.arange(n_invoices)).cast(TEXT)
    cancel = pa.array(invoices["cancel"][by_time])
    prefixed = pc.binary_join_element_wise(pa.scalar("C", TEXT), numbers, pa.scalar("", TEXT))
    invoice_no = pc.if_else(cancel, prefixed, numbers)
    day_text = pa.array(np.datetime_as_string(first_day + np.arange(n_days), unit="D"), TEXT)
    minute = np.arange(24 * 60)
    time_text = pa.array([f"{m // 60:02d}:{m % 60:02d}:00" for m in minute.tolist()], TEXT)
    date = pc.binary_join_element_wise(
        day_text.take(invoices["day"][by_time]),
        time_text.take(invoices["minute"][by_time]),
        pa.scalar(" ", TEXT),
    )
    customer = invoices["customer"][by_time]
    customer_id = pa.array(ids, TEXT).take(
        pa.array(np.maximum(customer, 0), mask=customer < 0)
    )
    country = pa.array(COUNTRIES, TEXT).take(invoices["country"][by_time])
    codes, descriptions, _, _ = catalogue()
    product = pa.array(lines["product"][source])
    columns = {
        "InvoiceNo": invoice_no.take(line_rank),
        "StockCode": codes.take(product),
        "Description": descriptions.take(product),
        "Quantity": lines["quantity"][source],
        "InvoiceDate": date.take(line_rank),
        "UnitPrice": np.round(lines["price"][source], 2),
        "CustomerID": customer_id.take(line_rank),
        "Country": country.take(line_rank),
    }
    frame = {}
    for name in TRANSACTION_COLUMNS:
        column = columns[name]
        frame[name] = column.to_pandas() if isinstance(column, pa.Array) else column
    return pd.DataFrame(frame)
