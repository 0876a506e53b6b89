"""Tracking: a later snapshot of the same customers against a saved model: who moved between
segments, who is new or gone, and whether the segments still fit.

`custseg.tracking.track.track` runs it and returns a `custseg.tracking.result.Tracking`;
`custseg.tracking.reference.reference_statistics` writes the statistics a run saves for it.
"""
