"""The notebook widget and what it shows: wire format, messages, services, drill-down, exports.

Computes no analysis itself: it calls :mod:`attn_widget.api`.
"""
