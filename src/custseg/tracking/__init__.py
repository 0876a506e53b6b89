"""Tracking: a later snapshot of the same customers against a saved model: who moved between
segments, who is new or gone, and whether the segments still fit."""
