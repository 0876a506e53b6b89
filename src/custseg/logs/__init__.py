"""Transaction logs: finding the roles of a log's columns, the rules that turn order lines into
one row per customer (ledger, checks, behaviour features, RFM), written once as SQL and shared
by both engines, and the DuckDB runner of the local engine.

* `custseg.logs.columns`: `TransactionColumns`, `detect_transaction_columns` (which column is
  the customer, invoice, date, quantity, price, amount, product).
* `custseg.logs.files`: the files a path or glob names, their kind, layout and encoding.
* `custseg.logs.sqltext`: quoted names and strings, and trimming, in SQL text.
* `custseg.logs.typed_lines`: `typed_lines_query` (numbers, dates found on a sample) and the
  diagnosis of values that do not convert.
* `custseg.logs.rules`: the rules as SQL (`lines_query`, `customer_queries`: line fates,
  checks, `FEATURE_COLUMNS`) and reading their one-row results back (the ledger).
* `custseg.logs.window`: `Window`, `parse_window` (the trailing window of the count and money
  features, ``--window``).
* `custseg.logs.result`: `TransactionFeatures`, the result of both engines, and its customer table.
* `custseg.logs.rfm`: `rfm_scores`, `RFM_SEGMENTS` and the RFM grid.
* `custseg.logs.duckdb_engine`: `customers_from_transactions`, the rules run by DuckDB.

The Spark engine (`custseg.engines.spark.transactions`) runs the same rules on Spark.
"""
