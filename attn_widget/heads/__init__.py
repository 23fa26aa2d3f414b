"""Heads: what each attention head does, and which heads a view listens to.

Head statistics and roles (:mod:`.stats`, :mod:`.roles`: previous-token,
broad, delimiter, induction, ...), lenses (:mod:`.lenses`: the heads a graph is
built from) and the coreference probe with its packaged data (:mod:`.coref`).
Sits below :mod:`attn_widget.explain` and :mod:`attn_widget.evaluate` and above
:mod:`attn_widget.extract` and :mod:`attn_widget.graph`: computing an analysis
uses it without going through the words. Never writes prose.
"""
