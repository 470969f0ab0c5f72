"""Losses, citing the papers' equations."""
