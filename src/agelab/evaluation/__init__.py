"""Metrics, statistics and plots."""
