"""Text in, attention out: model loading, tokens with offsets, forward passes (plain and perturbed).

Knows nothing about graphs or the widget; torch and transformers are imported
inside the functions that need them.
"""
