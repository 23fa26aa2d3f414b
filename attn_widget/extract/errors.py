"""The error raised when a model or tokenizer cannot be loaded."""

from __future__ import annotations


class ModelLoadError(RuntimeError):
    """A model or tokenizer could not be loaded; the message says how to provide it.

    ``reason`` is the short cause (e.g. "no network and not in the Hugging Face cache").
    """

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message
