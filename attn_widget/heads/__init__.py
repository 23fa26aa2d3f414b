"""Heads: what each attention head does, and which heads a view listens to.

Head statistics and roles (:mod:`.stats`, :mod:`.roles`: previous-token,
broad, delimiter, induction, ...), lenses (:mod:`.lenses`: the heads a graph is
built from) and the coreference probe with its packaged data and generator
(:mod:`.coref`, :mod:`.probe_gen`), the heads chosen on it by cross-validation
(:mod:`.coref_fit`) and each pronoun's reference link with its confidence
(:func:`.coref.reference_links`, :data:`.coref.CONFIDENT`).
Sits below :mod:`attn_widget.explain` and :mod:`attn_widget.evaluate` and above
:mod:`attn_widget.extract` and :mod:`attn_widget.graph`: computing an analysis
uses it without going through the words. Never writes prose.
"""
