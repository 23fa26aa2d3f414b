"""Why a cluster: head roles, evidence, verified claims, prose, LLM polish, faithfulness scores.

Never touches the widget.
"""
