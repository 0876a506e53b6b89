"""Segmenting: candidate segmentations (K-Means, Ward, mixtures, HDBSCAN, DBSCAN) over a range
of k, their scores and stability, the choice with its reasons, and assigning new customers."""
