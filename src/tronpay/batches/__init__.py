"""Batches: JSON and CSV intake of many payouts at once, and their progress."""
