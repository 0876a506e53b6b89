"""Reading: files of every kind (CSV/TSV/TXT, Parquet, Excel, JSON, archives) into one table,
with what was read and how (delimiter, encoding, header, sheets), and dates parsed."""
