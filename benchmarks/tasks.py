"""One measured task per process: ``python benchmarks/tasks.py TASK '{json arguments}'``.

`benchmarks/run.py` starts every task in a fresh interpreter and measures it from the
outside (wall time, peak RSS and CPU time from ``os.wait4``). Inside, each task times
its own work (``work_s``: from the first byte read to the finished in-memory result,
excluding the interpreter's start-up and the writing of the benchmark's own outputs)
and prints JSON lines that start with ``BENCH``:

* ``BENCH phase {...}`` while it runs, so a task stopped at its time limit still tells
  how far it got (for example: K-Means fitted in 3.1 s, then stopped in the exact
  silhouette);
* ``BENCH result {...}`` once, at the end.

Imports are made inside the tasks, so each process pays only for what it uses. Nothing
here is timed by the orchestrator except as part of a whole process.
"""

from __future__ import annotations

import datetime
import glob
import json
import os
import sys
import time
from pathlib import Path

#: Numeric columns of `custseg.sampledata.generate_customers`, plus the two derived
#: columns the benchmark adds (see `DERIVED`) so that the matrix has 8 features, as in
#: issue 5's target ("1,000,000 customers x 8 features").
GENERATED_NUMERIC = (
    "age", "annual_income", "spending_score", "visits_per_month", "online_share", "tenure_years",
)
DERIVED = ("age_at_joining", "online_visits_per_month")
FEATURES = GENERATED_NUMERIC + DERIVED
PLANTED_SEGMENTS = 5
#: Planted behaviour segments of the transaction logs (the first 4 buyer archetypes are
#: the well-separated ones) and lines per customer the generator gives with them.
TRANSACTION_SEGMENTS = 4
LINES_PER_CUSTOMER = 88.0
#: Product codes custseg treats as non-products (custseg.logs.rules.NON_PRODUCT_CODES),
#: written out again here: the baselines are hand-written, not built from custseg.
NON_PRODUCT_CODES = (
    "POST", "DOT", "M", "C2", "D", "S", "B", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS",
    "ADJUST", "ADJUST2", "TEST001", "TEST002", "CRUK COMMISSION",
)
RECENT_DAYS = 90
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
RFM = ("recency_days", "frequency", "monetary")
FULL = (
    "recency_days", "frequency", "monetary", "tenure_days", "avg_order_value",
    "items_per_order", "distinct_products", "return_rate", "mean_days_between_purchases",
    "recent_spend_share",
)


def emit(what: str, /, **values) -> None:
    """Print one ``BENCH <what> {json}`` line for the orchestrator."""
    print("BENCH " + what + " " + json.dumps(values, default=_plain), flush=True)


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def _files(pattern: str) -> list[str]:
    if any(ch in pattern for ch in "*?["):
        return sorted(glob.glob(pattern))
    return [pattern]


# --------------------------------------------------------------------------- data


def gen_customers(n: int, seed: int, path: str, truth: str) -> None:
    """Customers with 5 planted segments, plus two derived numeric columns; and the truth."""
    import numpy as np

    from custseg.sampledata import generate_customers

    start = time.perf_counter()
    table, segment = generate_customers(n, PLANTED_SEGMENTS, random_state=seed)
    # Two derived numeric columns (8 features in all), each a plain business quantity:
    # the age at which the customer joined, and online visits per month.
    table["age_at_joining"] = np.round(table["age"] - table["tenure_years"], 1)
    table["online_visits_per_month"] = np.round(table["visits_per_month"] * table["online_share"], 2)
    table.to_parquet(path, index=False)
    table[["customer_id"]].assign(segment=segment.to_numpy()).to_parquet(truth, index=False)
    emit("result", work_s=time.perf_counter() - start, rows=len(table),
         columns=list(table.columns), shares=np.bincount(segment.to_numpy()).tolist())


def gen_transactions(n_customers: int, seed: int, path: str, chunk: int = 0) -> None:
    """An order-line log (UCI Online Retail layout) with 4 planted buyer segments.

    Chunk ``c`` of a multi-file log shifts its customer ids by ``c`` x 10,000,000 and its
    invoice numbers by ``c`` x 100,000,000, so that files drawn with different seeds do
    not share customers or invoices.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from custseg.sampledata import generate_transactions

    start = time.perf_counter()
    lines, _ = generate_transactions(n_customers, TRANSACTION_SEGMENTS, random_state=seed)
    table = pa.Table.from_pandas(lines, preserve_index=False)
    del lines
    if chunk:
        ids = table["CustomerID"]
        shifted = pc.cast(pc.add(pc.cast(ids, pa.int64()), chunk * 10_000_000), pa.large_string())
        table = table.set_column(table.schema.get_field_index("CustomerID"), "CustomerID", shifted)
        invoice = table["InvoiceNo"]
        cancel = pc.starts_with(invoice, "C")
        digits = pc.utf8_ltrim(invoice, characters="C")
        number = pc.cast(pc.add(pc.cast(digits, pa.int64()), chunk * 100_000_000), pa.large_string())
        prefixed = pc.binary_join_element_wise(pa.scalar("C", pa.large_string()), number,
                                               pa.scalar("", pa.large_string()))
        table = table.set_column(table.schema.get_field_index("InvoiceNo"), "InvoiceNo",
                                 pc.if_else(cancel, prefixed, number))
    pq.write_table(table, path, row_group_size=1_000_000)
    emit("result", work_s=time.perf_counter() - start, lines=table.num_rows,
         bytes=os.path.getsize(path))


# --------------------------------------------------------------------------- baselines: segmentation


def _matrix(path: str):
    """The 8 numeric columns, standardised (the textbook preprocessing)."""
    import pandas as pd
    from sklearn.preprocessing import StandardScaler

    frame = pd.read_parquet(path, columns=list(FEATURES))
    return StandardScaler().fit_transform(frame.to_numpy(dtype="float64"))


def baseline_b(path: str, k_min: int, k_max: int, n_init: int, labels_out: str,
               sample_size: int = 10_000) -> None:
    """Baseline B, "careful": K-Means k = k_min..k_max with silhouette on a 10,000 sample."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    start = time.perf_counter()
    x = _matrix(path)
    read_s = time.perf_counter() - start
    scores, best = [], None
    for k in range(k_min, k_max + 1):
        t = time.perf_counter()
        labels = KMeans(n_clusters=k, n_init=n_init, random_state=0).fit_predict(x)
        fit_s = time.perf_counter() - t
        t = time.perf_counter()
        sample = sample_size if len(x) > sample_size else None
        score = float(silhouette_score(x, labels, sample_size=sample, random_state=0))
        scores.append({"k": k, "silhouette": score, "fit_s": fit_s,
                       "silhouette_s": time.perf_counter() - t})
        emit("phase", **scores[-1])
        if best is None or score > best[0]:
            best = (score, k, labels)
    work = time.perf_counter() - start
    np.save(labels_out, best[2].astype("int16"))
    emit("result", work_s=work, read_s=read_s, k=best[1], silhouette=best[0], scores=scores,
         algorithm="kmeans", n=len(x))


def _a_sweep(path: str, k_min: int, k_max: int, labels_dir: str, n: int, algorithm: str, fit) -> None:
    """Fit every k, each followed by the exact silhouette on all rows; a ``candidate``
    phase line per k (so a sweep stopped at its limit still shows what it finished)."""
    import numpy as np
    from sklearn.metrics import silhouette_score

    start = time.perf_counter()
    x = _matrix(path)
    for k in range(k_min, k_max + 1):
        t = time.perf_counter()
        labels = fit(x, k)
        emit("phase", step="fit", k=k, seconds=time.perf_counter() - t, n=len(x))
        out = str(Path(labels_dir) / f"baseline-a-{n}-{algorithm}-{k}.npy")
        np.save(out, labels.astype("int16"))
        t = time.perf_counter()
        score = float(silhouette_score(x, labels))
        emit("phase", step="candidate", k=k, silhouette=score, silhouette_s=time.perf_counter() - t,
             labels=out)
    emit("result", work_s=time.perf_counter() - start)


def baseline_a_kmeans_sweep(path: str, k_min: int, k_max: int, n_init: int, labels_dir: str, n: int) -> None:
    """Baseline A, textbook: K-Means for each k on all rows, exact silhouette on all rows."""
    from sklearn.cluster import KMeans

    _a_sweep(path, k_min, k_max, labels_dir, n, "kmeans",
             lambda x, k: KMeans(n_clusters=k, n_init=n_init, random_state=0).fit_predict(x))


def baseline_a_ward_sweep(path: str, k_min: int, k_max: int, n_init: int, labels_dir: str, n: int) -> None:
    """Baseline A, textbook: AgglomerativeClustering(ward) for each k on all rows, exact silhouette."""
    from sklearn.cluster import AgglomerativeClustering

    _a_sweep(path, k_min, k_max, labels_dir, n, "ward",
             lambda x, k: AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(x))


def baseline_a_dbscan_sweep(path: str, labels_dir: str, n: int) -> None:
    """Baseline A, textbook: DBSCAN on all rows; eps at the knee of the k-distance curve
    (min_samples = 2 x dimensions), then the exact silhouette (noise as one more label)."""
    import numpy as np
    from kneed import KneeLocator
    from sklearn.cluster import DBSCAN
    from sklearn.metrics import silhouette_score
    from sklearn.neighbors import NearestNeighbors

    start = time.perf_counter()
    x = _matrix(path)
    min_samples = 2 * x.shape[1]
    t = time.perf_counter()
    distances = np.sort(NearestNeighbors(n_neighbors=min_samples).fit(x).kneighbors(x)[0][:, -1])
    knee = KneeLocator(np.arange(len(distances)), distances, curve="convex",
                       direction="increasing").knee_y
    eps = float(knee) if knee else float(np.percentile(distances, 90))
    emit("phase", step="k-distance eps", seconds=time.perf_counter() - t, eps=eps, n=len(x))
    t = time.perf_counter()
    labels = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(x)
    clusters = int(len(set(labels.tolist()) - {-1}))
    noise = float((labels == -1).mean())
    emit("phase", step="fit", k=clusters, seconds=time.perf_counter() - t, noise=noise)
    out = str(Path(labels_dir) / f"baseline-a-{n}-dbscan.npy")
    np.save(out, labels.astype("int16"))
    score = None
    t = time.perf_counter()
    if len(set(labels.tolist())) >= 2:
        score = float(silhouette_score(x, labels))
    emit("phase", step="candidate", k=clusters, silhouette=score, silhouette_s=time.perf_counter() - t,
         noise=noise, eps=eps, labels=out)
    emit("result", work_s=time.perf_counter() - start)


# --------------------------------------------------------------------------- evaluation (not timed)


def evaluate(truth: str, labels: str | None = None, segments: str | None = None,
             summary: str | None = None) -> None:
    """ARI of a segmentation against the planted truth, and what custseg chose and sampled."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    planted = pd.read_parquet(truth)
    out: dict = {}
    if segments:
        found = pd.read_csv(segments, usecols=["customer_id", "segment"], dtype={"customer_id": "str"})
        if len(found) == len(planted) and (found["customer_id"].to_numpy() == planted["customer_id"].to_numpy()).all():
            predicted, expected = found["segment"].to_numpy(), planted["segment"].to_numpy()
        else:
            merged = planted.merge(found, on="customer_id", suffixes=("_truth", "_found"))
            predicted, expected = merged["segment_found"].to_numpy(), merged["segment_truth"].to_numpy()
        out["customers_scored"] = int(len(predicted))
        out["noise_share"] = float((predicted == -1).mean())
    else:
        predicted, expected = np.load(labels), planted["segment"].to_numpy()
    out["ari"] = float(adjusted_rand_score(expected, predicted))
    out["k_found"] = int(len(set(predicted.tolist()) - {-1}))
    if summary:
        data = json.loads(Path(summary).read_text(encoding="utf-8"))
        chosen = data.get("chosen", {})
        out.update(algorithm=chosen.get("algorithm"), k=chosen.get("k"),
                   silhouette=chosen.get("silhouette"), sampling=data.get("sampling"))
    emit("result", **out)


# --------------------------------------------------------------------------- features from order lines


def features_custseg(source: str, out: str) -> None:
    """custseg's `customers_from_transactions` (DuckDB, every feature, ledger and checks)."""
    import duckdb  # noqa: F401 - imported before the clock starts, as in the other tools

    from custseg.logs.duckdb_engine import customers_from_transactions

    start = time.perf_counter()
    found = customers_from_transactions(source)
    work = time.perf_counter() - start
    table = found.customers.rename(columns={found.columns.customer: "customer_id"})
    table.to_parquet(out, index=False)
    emit("result", work_s=work, customers=len(table), lines_read=found.ledger.rows_read,
         lines_used=found.ledger.rows_used, as_of=found.as_of)


def _duckdb_sql(files: list[str], variant: str) -> str:
    """Hand-written DuckDB SQL with custseg's line rules and feature definitions (README,
    "Transaction logs"), for this known layout: clean text ids, ``InvoiceDate`` text."""
    listed = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    codes = ", ".join(f"'{c}'" for c in NON_PRODUCT_CODES)
    cleaning = f"""
WITH lines AS (
  SELECT
    CustomerID AS customer_id,
    InvoiceNo AS invoice,
    StockCode AS product,
    CAST(Quantity AS DOUBLE) AS quantity,
    CAST(UnitPrice AS DOUBLE) AS price,
    CAST(Quantity AS DOUBLE) * CAST(UnitPrice AS DOUBLE) AS value,
    CAST(strptime(InvoiceDate, '{DATE_FORMAT}') AS DATE) AS day,
    Country AS country,
    (substr(InvoiceNo, 1, 1) = 'C' AND substr(InvoiceNo, 2, 1) BETWEEN '0' AND '9') AS is_cancellation,
    (substr(InvoiceNo, 1, 1) = 'A' AND substr(InvoiceNo, 2, 1) BETWEEN '0' AND '9') AS is_adjustment,
    (upper(StockCode) IN ({codes}) OR starts_with(upper(StockCode), 'GIFT_')) AS is_non_product
  FROM (SELECT DISTINCT * FROM read_parquet({listed}))
),
valid AS (
  SELECT * FROM lines
  WHERE customer_id IS NOT NULL AND NOT is_adjustment
    AND day IS NOT NULL AND quantity IS NOT NULL AND price IS NOT NULL
    AND (is_cancellation OR price > 0)
),
reference AS (SELECT MAX(day) + 1 AS as_of FROM valid),
marked AS (
  SELECT valid.*, as_of,
    (NOT is_cancellation AND value > 0 AND quantity > 0) AS is_purchase,
    (is_cancellation OR value < 0 OR quantity < 0) AS is_return
  FROM valid, reference
)"""
    if variant == "rfm":
        return cleaning + """
SELECT customer_id,
  CAST(any_value(as_of) - MAX(day) FILTER (is_purchase) AS DOUBLE) AS recency_days,
  CAST(COUNT(DISTINCT invoice) FILTER (is_purchase) AS DOUBLE) AS frequency,
  SUM(value) AS monetary
FROM marked
GROUP BY customer_id
HAVING COUNT(DISTINCT invoice) FILTER (is_purchase) > 0 AND SUM(value) > 0"""
    return cleaning + f""",
per_customer AS (
  SELECT customer_id, any_value(as_of) AS as_of,
    MIN(day) FILTER (is_purchase) AS first_purchase,
    MAX(day) FILTER (is_purchase) AS last_purchase,
    COUNT(DISTINCT invoice) FILTER (is_purchase) AS orders,
    COUNT(DISTINCT day) FILTER (is_purchase) AS purchase_days,
    COUNT(DISTINCT product) FILTER (is_purchase AND NOT is_non_product) AS products,
    SUM(value) AS net_spend,
    SUM(value) FILTER (is_purchase) AS gross_spend,
    COALESCE(SUM(-value) FILTER (is_return), 0) AS returned,
    COALESCE(SUM(quantity) FILTER (is_purchase AND NOT is_non_product), 0) AS units,
    COALESCE(SUM(value) FILTER (is_purchase AND as_of - day <= {RECENT_DAYS}), 0) AS recent_spend
  FROM marked
  GROUP BY customer_id
),
country_spend AS (
  SELECT customer_id, country, SUM(value) AS spend
  FROM marked WHERE is_purchase AND country IS NOT NULL
  GROUP BY customer_id, country
),
dominant AS (
  SELECT customer_id, first(country ORDER BY spend DESC, country ASC) AS country
  FROM country_spend GROUP BY customer_id
)
SELECT p.customer_id,
  CAST(as_of - last_purchase AS DOUBLE) AS recency_days,
  CAST(orders AS DOUBLE) AS frequency,
  net_spend AS monetary,
  CAST(as_of - first_purchase AS DOUBLE) AS tenure_days,
  gross_spend / orders AS avg_order_value,
  units / orders AS items_per_order,
  CAST(products AS DOUBLE) AS distinct_products,
  returned / gross_spend AS return_rate,
  CASE WHEN purchase_days > 1
    THEN CAST(last_purchase - first_purchase AS DOUBLE) / (purchase_days - 1) END
    AS mean_days_between_purchases,
  recent_spend / gross_spend AS recent_spend_share,
  d.country AS Country
FROM per_customer AS p LEFT JOIN dominant AS d ON d.customer_id = p.customer_id
WHERE orders > 0 AND net_spend > 0"""


def features_duckdb(source: str, variant: str, out: str, memory_limit: str | None = None) -> None:
    """A hand-written DuckDB query for the same features (``full``) or for R, F and M only
    (``rfm``), with DuckDB's default settings (all cores, 80% of memory), or with
    ``memory_limit`` (and a temporary folder to spill to)."""
    import tempfile

    import duckdb

    start = time.perf_counter()
    config = {}
    if memory_limit:
        config = {"memory_limit": memory_limit, "temp_directory": tempfile.mkdtemp(prefix="bench-duckdb-")}
    con = duckdb.connect(config=config)
    table = con.execute(_duckdb_sql(_files(source), variant)).fetch_df()
    work = time.perf_counter() - start
    table.to_parquet(out, index=False)
    emit("result", work_s=work, customers=len(table))


def _polars_lines(source: str):
    import polars as pl

    lines = pl.scan_parquet(_files(source)).unique()
    invoice = pl.col("InvoiceNo")
    lines = lines.filter(pl.col("CustomerID").is_not_null()).with_columns(
        customer_id=pl.col("CustomerID"),
        quantity=pl.col("Quantity").cast(pl.Float64),
        price=pl.col("UnitPrice").cast(pl.Float64),
        day=pl.col("InvoiceDate").str.strptime(pl.Datetime, DATE_FORMAT, strict=False).dt.date(),
        is_cancellation=invoice.str.contains(r"^C[0-9]"),
        is_adjustment=invoice.str.contains(r"^A[0-9]"),
    )
    lines = lines.filter(
        ~pl.col("is_adjustment") & pl.col("day").is_not_null() & pl.col("quantity").is_not_null()
        & pl.col("price").is_not_null() & (pl.col("is_cancellation") | (pl.col("price") > 0))
    )
    value = pl.col("quantity") * pl.col("price")
    product = pl.col("StockCode").str.to_uppercase()
    return lines.with_columns(
        value=value,
        as_of=pl.col("day").max() + pl.duration(days=1),
        is_non_product=product.is_in(list(NON_PRODUCT_CODES)) | product.str.starts_with("GIFT_"),
        is_purchase=~pl.col("is_cancellation") & (value > 0) & (pl.col("quantity") > 0),
        is_return=pl.col("is_cancellation") | (value < 0) | (pl.col("quantity") < 0),
    )


def features_polars(source: str, variant: str, out: str) -> None:
    """A polars lazy query for the same features (``full``) or R, F and M (``rfm``)."""
    import polars as pl

    start = time.perf_counter()
    lines = _polars_lines(source)
    buy = pl.col("is_purchase")
    as_of = pl.col("as_of").first()
    aggs = [
        (as_of - pl.col("day").filter(buy).max()).dt.total_days().cast(pl.Float64).alias("recency_days"),
        pl.col("InvoiceNo").filter(buy).n_unique().cast(pl.Float64).alias("frequency"),
        pl.col("value").sum().alias("monetary"),
    ]
    if variant == "full":
        product_buy = buy & ~pl.col("is_non_product")
        aggs += [
            (as_of - pl.col("day").filter(buy).min()).dt.total_days().cast(pl.Float64).alias("tenure_days"),
            pl.col("value").filter(buy).sum().alias("gross_spend"),
            pl.col("quantity").filter(product_buy).sum().alias("units"),
            pl.col("StockCode").filter(product_buy).n_unique().cast(pl.Float64).alias("distinct_products"),
            (-pl.col("value").filter(pl.col("is_return"))).sum().alias("returned"),
            pl.col("day").filter(buy).n_unique().alias("purchase_days"),
            (pl.col("day").filter(buy).max() - pl.col("day").filter(buy).min()).dt.total_days().alias("span"),
            pl.col("value").filter(buy & ((pl.col("as_of") - pl.col("day")).dt.total_days() <= RECENT_DAYS))
            .sum().alias("recent_spend"),
        ]
    per_customer = lines.group_by("customer_id").agg(aggs).filter(
        (pl.col("frequency") > 0) & (pl.col("monetary") > 0)
    )
    if variant == "full":
        orders = pl.col("frequency")
        per_customer = per_customer.with_columns(
            avg_order_value=pl.col("gross_spend") / orders,
            items_per_order=pl.col("units") / orders,
            return_rate=pl.col("returned") / pl.col("gross_spend"),
            mean_days_between_purchases=pl.when(pl.col("purchase_days") > 1)
            .then(pl.col("span") / (pl.col("purchase_days") - 1)),
            recent_spend_share=pl.col("recent_spend") / pl.col("gross_spend"),
        )
        dominant = (
            lines.filter(buy & pl.col("Country").is_not_null())
            .group_by("customer_id", "Country").agg(pl.col("value").sum().alias("spend"))
            .sort(["customer_id", "spend", "Country"], descending=[False, True, False])
            .group_by("customer_id").agg(pl.col("Country").first())
        )
        per_customer = per_customer.join(dominant, on="customer_id", how="left").select(
            "customer_id", *FULL, "Country"
        )
    table = per_customer.collect()
    work = time.perf_counter() - start
    table.write_parquet(out)
    emit("result", work_s=work, customers=table.height)


def features_pandas(source: str, variant: str, out: str) -> None:
    """A pandas groupby for the same features (``full``) or R, F and M (``rfm``)."""
    import numpy as np
    import pandas as pd
    import pyarrow.parquet  # noqa: F401 - imported before the clock starts

    start = time.perf_counter()
    files = _files(source)
    lines = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if len(files) > 1 \
        else pd.read_parquet(files[0])
    lines = lines.drop_duplicates()
    lines = lines[lines["CustomerID"].notna()]
    invoice = lines["InvoiceNo"]
    cancel = invoice.str.match(r"C[0-9]").to_numpy(dtype=bool)
    adjustment = invoice.str.match(r"A[0-9]").to_numpy(dtype=bool)
    quantity = lines["Quantity"].to_numpy(dtype="float64")
    price = lines["UnitPrice"].to_numpy(dtype="float64")
    day = pd.to_datetime(lines["InvoiceDate"], format=DATE_FORMAT).dt.normalize().to_numpy()
    keep = ~adjustment & ~np.isnan(quantity) & ~np.isnan(price) & ~np.isnat(day) & (cancel | (price > 0))
    value = quantity * price
    frame = pd.DataFrame({
        "customer_id": lines["CustomerID"].to_numpy()[keep],
        "invoice": invoice.to_numpy()[keep],
        "value": value[keep],
        "day": day[keep],
    })
    is_purchase = (~cancel & (value > 0) & (quantity > 0))[keep]
    as_of = frame["day"].max() + pd.Timedelta(days=1)
    bought = frame[is_purchase]
    grouped = bought.groupby("customer_id", sort=False)
    per_customer = pd.DataFrame({
        "recency_days": (as_of - grouped["day"].max()).dt.days.astype("float64"),
        "frequency": grouped["invoice"].nunique().astype("float64"),
    })
    per_customer["monetary"] = frame.groupby("customer_id", sort=False)["value"].sum()
    if variant == "full":
        product = lines["StockCode"].to_numpy()[keep]
        upper = pd.Series(product).str.upper()
        non_product = (upper.isin(NON_PRODUCT_CODES) | upper.str.startswith("GIFT_")).to_numpy()
        is_return = (cancel | (value < 0) | (quantity < 0))[keep]
        frame["product"] = product
        frame["quantity"] = quantity[keep]
        frame["country"] = lines["Country"].to_numpy()[keep]
        bought = frame[is_purchase]
        grouped = bought.groupby("customer_id", sort=False)
        first, last = grouped["day"].min(), grouped["day"].max()
        gross = grouped["value"].sum()
        products = frame[is_purchase & ~non_product].groupby("customer_id", sort=False)
        days = grouped["day"].nunique()
        recent = bought[(as_of - bought["day"]).dt.days <= RECENT_DAYS].groupby("customer_id", sort=False)["value"].sum()
        returned = -frame[is_return].groupby("customer_id", sort=False)["value"].sum()
        per_customer["tenure_days"] = (as_of - first).dt.days.astype("float64")
        per_customer["avg_order_value"] = gross / per_customer["frequency"]
        per_customer["items_per_order"] = products["quantity"].sum().reindex(per_customer.index).fillna(0.0) / per_customer["frequency"]
        per_customer["distinct_products"] = products["product"].nunique().reindex(per_customer.index).fillna(0).astype("float64")
        per_customer["return_rate"] = returned.reindex(per_customer.index).fillna(0.0) / gross
        per_customer["mean_days_between_purchases"] = ((last - first).dt.days / (days - 1)).where(days > 1)
        per_customer["recent_spend_share"] = recent.reindex(per_customer.index).fillna(0.0) / gross
        spend = bought.dropna(subset=["country"]).groupby(["customer_id", "country"], sort=False)["value"].sum().reset_index()
        spend = spend.sort_values(["customer_id", "value", "country"], ascending=[True, False, True])
        per_customer["Country"] = spend.drop_duplicates("customer_id").set_index("customer_id")["country"]
    per_customer = per_customer[(per_customer["frequency"] > 0) & (per_customer["monetary"] > 0)]
    table = per_customer.rename_axis("customer_id").reset_index()
    work = time.perf_counter() - start
    table.to_parquet(out, index=False)
    emit("result", work_s=work, customers=len(table))


def compare_features(reference: str, others: dict[str, str], full: list[str]) -> None:
    """Agreement of every result with ``reference`` (custseg): same customers, the same
    recency and frequency (exactly) and monetary (to 1e-6 relative); for the tools in
    ``full`` also every other feature and the dominant country."""
    import numpy as np
    import pandas as pd

    base = pd.read_parquet(reference)
    base["customer_id"] = base["customer_id"].astype(str)
    report = {}
    for name, path in others.items():
        other = pd.read_parquet(path)
        other["customer_id"] = other["customer_id"].astype(str)
        merged = base.merge(other, on="customer_id", how="outer", suffixes=("", "_other"), indicator=True)
        only_ref = int((merged["_merge"] == "left_only").sum())
        only_other = int((merged["_merge"] == "right_only").sum())
        both = merged[merged["_merge"] == "both"]
        columns = list(FULL) + ["Country"] if name in full else list(RFM)
        mismatches = {}
        for column in columns:
            if column + "_other" not in both:
                mismatches[column] = "missing"
                continue
            a, b = both[column], both[column + "_other"]
            if column == "Country":
                bad = int((a.astype(str) != b.astype(str)).sum())
            else:
                a, b = a.to_numpy(dtype="float64"), b.to_numpy(dtype="float64")
                exact = column in ("recency_days", "frequency", "tenure_days", "distinct_products")
                close = np.isclose(a, b, rtol=0 if exact else 1e-6, atol=0 if exact else 1e-6, equal_nan=True)
                bad = int((~close).sum())
            if bad:
                mismatches[column] = bad
        report[name] = {"customers": int(len(other)), "only_in_custseg": only_ref,
                        "only_in_other": only_other, "mismatches": mismatches,
                        "agree": not mismatches and only_ref == 0 and only_other == 0}
    emit("result", reference_customers=int(len(base)), tools=report)


# --------------------------------------------------------------------------- assign


def assign(model: str, data: str, repeats: int = 3, segments: str | None = None) -> None:
    """`Model.assign` on customers already in memory (file reading not timed)."""
    import numpy as np
    import pandas as pd

    from custseg.model import load_model

    frame = pd.read_parquet(data)
    fitted = load_model(model)
    times, labels = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        _, labels, _ = fitted.assign(frame)
        times.append(time.perf_counter() - t)
    parts = {}
    try:  # where the time goes (library internals; skipped if they change shape)
        from custseg.preparing.clean import apply_cleaning

        t = time.perf_counter()
        cleaned, _ = apply_cleaning(frame, fitted.roles, fitted.cleaning)
        parts["clean_s"] = time.perf_counter() - t
        t = time.perf_counter()
        matrix = fitted.plan.transform(cleaned)
        parts["transform_s"] = time.perf_counter() - t
        t = time.perf_counter()
        fitted.assigner.predict(matrix)
        parts["predict_s"] = time.perf_counter() - t
    except Exception as exc:  # noqa: BLE001 - a breakdown is optional
        parts["breakdown_error"] = f"{type(exc).__name__}: {exc}"
    same = None
    if segments:
        run = pd.read_csv(segments, usecols=["segment"])["segment"].to_numpy()
        same = bool(len(run) == len(labels) and np.array_equal(run, labels))
    best = min(times)
    emit("result", work_s=best, first_s=times[0], times=times, n=len(frame),
         per_second=len(frame) / best, algorithm=fitted.algorithm, kind=fitted.assigner.kind,
         reproduces_run=same, **parts)


# --------------------------------------------------------------------------- track


#: Planted moves of the later snapshot: (from, to) -> share of the customers.
LATER_MOVES = {(0, 1): 0.05, (2, 3): 0.02}


def gen_later(path: str, truth: str, out: str, seed: int = 1) -> None:
    """A later snapshot of the customers of ``path``: `LATER_MOVES` moved between planted
    segments (`custseg.sampledata.move_customers`), the derived columns recomputed."""
    import numpy as np
    import pandas as pd

    from custseg.sampledata import move_customers

    start = time.perf_counter()
    table = pd.read_parquet(path)
    planted = pd.read_parquet(truth)["segment"]
    moves = {pair: int(share * len(table)) for pair, share in LATER_MOVES.items()}
    later, moved = move_customers(table, planted, moves, random_state=seed)
    later["age_at_joining"] = np.round(later["age"] - later["tenure_years"], 1)
    later["online_visits_per_month"] = np.round(later["visits_per_month"] * later["online_share"], 2)
    later.to_parquet(out, index=False)
    emit("result", work_s=time.perf_counter() - start, rows=len(later), moved=int((moved != planted).sum()))


def track_work(model: str, data: str) -> None:
    """`Model.assign` and `custseg.track` of the same customers already in memory (file
    reading not timed; track reads the run's segments.csv, which is part of its work)."""
    import pandas as pd

    from custseg import track
    from custseg.model import load_model

    frame = pd.read_parquet(data)
    fitted = load_model(model)
    t = time.perf_counter()
    fitted.assign(frame)
    assign_s = time.perf_counter() - t
    emit("phase", step="assign", seconds=assign_s)
    t = time.perf_counter()
    tracked = track(model, frame)
    work_s = time.perf_counter() - t
    emit("result", work_s=work_s, assign_s=assign_s, n=len(frame), customers=tracked.customers,
         verdict=tracked.verdict)


def track_check(migration: str, assigned: str, id_col: str = "customer_id") -> None:
    """Does ``custseg track`` put every customer where ``custseg assign`` does, once each?"""
    import pandas as pd

    moved = pd.read_csv(migration, dtype={id_col: str}, usecols=[id_col, "segment_after", "status"])
    base = pd.read_csv(assigned, dtype={id_col: str}, usecols=[id_col, "segment"])
    now = moved[moved["status"] != "gone"].set_index(id_col)["segment_after"].astype("int64")
    same = bool(now.index.is_unique and len(now) == len(base)
                and (now.loc[base[id_col]].to_numpy() == base["segment"].to_numpy()).all())
    emit("result", once=bool(moved[id_col].is_unique), agrees_with_assign=same,
         moved=int((moved["status"] == "moved").sum()), rows=len(moved))


TASKS = {
    name: obj for name, obj in globals().items()
    if callable(obj) and name in {
        "gen_customers", "gen_transactions", "baseline_b", "baseline_a_kmeans_sweep",
        "baseline_a_ward_sweep", "baseline_a_dbscan_sweep", "evaluate", "features_custseg", "features_duckdb", "features_polars",
        "features_pandas", "compare_features", "assign", "gen_later", "track_work", "track_check",
    }
}

if __name__ == "__main__":
    task, arguments = sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    TASKS[task](**arguments)
