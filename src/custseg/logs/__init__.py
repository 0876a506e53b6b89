"""Transaction logs: finding the roles of a log's columns, the rules that turn order lines into
one row per customer (ledger, checks, behaviour features, RFM), written once as SQL and shared
by both engines, and the DuckDB runner of the local engine."""
