"""Runs: orchestration beside :mod:`attn_widget.api` (the same layer).

The streamed pipeline (:mod:`.stream`, :mod:`.streamed`: forward hooks reduced
layer by layer), the work behind the facade's results (:mod:`.work`:
re-clustering, links, generation, comparison, ablation, hand edits) and
explaining (:mod:`.explaining`: runs the measurements, then the words).
Computing an analysis walks extract → heads → graph from here in one
direction; it never enters :mod:`attn_widget.explain`. Lower layers never
import this package.
"""
