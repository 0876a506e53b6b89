"""Reporting: the figures and the self-contained HTML reports of a run and of a tracking
comparison, rendered from their summaries."""
