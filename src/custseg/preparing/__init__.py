"""Preparing: the roles of a customer table's columns, cleaning into a ledger (missing values,
codes for missing, duplicates, outliers, dates), and the features that are clustered (log,
scaling, encoding of categoricals, PCA)."""
