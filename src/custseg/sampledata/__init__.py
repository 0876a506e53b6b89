"""Sample data: generated customer tables and order-line logs with planted segments, for the
demo, the tests and the benchmarks."""
