"""Engines other than the single-machine one (pandas, NumPy, DuckDB) that the stages use by
default: `custseg.engines.spark` builds the customer table where the data lives."""
