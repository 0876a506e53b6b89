"""Segmenting: candidate segmentations (K-Means, Ward, mixtures, HDBSCAN, DBSCAN) over a range
of k, their scores and stability, the choice with its reasons, and assigning new customers.

Modules: `options` (what the search reads of the settings), `search` (the whole search),
`candidates` (a candidate and what every fit shares), `centres` (K-Means, Gaussian
mixtures), `ward`, `density` (HDBSCAN, DBSCAN), `scores`, `stability`, `rules` (the
thresholds and tests of the choice), `choice`, `reasons` (the choice in words) and
`assign` (the saved assignment rule).
"""
