"""Words about a partition: evidence → claims → headline/rationale → checks → LLM polish.

Every module here takes a partition (an :class:`~attn_widget.core.Analysis`'s
clusters) and its evidence; none runs a model or reads raw attention to make
an analysis (head roles come from :mod:`attn_widget.heads`, the cut test and
faithfulness from :mod:`attn_widget.evaluate`, run by
:mod:`attn_widget.runs.explaining`). Never touches the widget.
"""
