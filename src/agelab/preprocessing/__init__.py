"""Data preparation after reading: per-image analysis, cleaning (§4), duplicates, splits."""
