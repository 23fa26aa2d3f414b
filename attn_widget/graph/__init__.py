"""Attention in, partitions out: validation, aggregation, thresholds, the sweep, clustering.

numpy/scipy only: this layer never sees a model.
"""
