"""Forward passes with the attention *between* groups of tokens cut, for the partition cut test.

A partition is a ``[T]`` label array (``-1``: a token left out of the graph,
e.g. a sink, which stays connected to everything). :func:`partition_mask` lets a
query attend only to keys of its own group; :class:`CutRunner` runs the model
with such masks (an additive mask, in every layer and head) and says how far
the output moved:

- causal models: the Jensen-Shannon divergence (base 2, in [0, 1]) of the
  next-token distribution, averaged over every position after the first
  (``"main"``), and at the last position only (``"other"``);
- encoders: ``1 - cosine`` of the mean-pooled sentence embedding (``"main"``),
  and of each token's last hidden state, averaged over the tokens (``"other"``).

Torch is used only inside :class:`CutRunner`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import lens
from .loading import eager_attention, is_causal_config


def partition_mask(labels: np.ndarray, causal: bool) -> np.ndarray:
    """``[T, T]`` bool: may the query (row) attend to the key (column)? Same group, or either left out."""
    labels = np.asarray(labels)
    free = labels < 0
    allowed = (labels[:, None] == labels[None, :]) | free[:, None] | free[None, :]
    if causal:
        allowed &= np.tril(np.ones((len(labels), len(labels)), dtype=bool))
    return allowed


class CutRunner:
    """Batched cut forward passes for one model and one token sequence; results cached per partition."""

    def __init__(self, model: Any, ids: Sequence[int], batch: int = 8) -> None:
        import torch

        self.torch, self.model, self.ids, self.batch = torch, model, [int(i) for i in ids], max(1, int(batch))
        self.causal = is_causal_config(model.config)
        self.passes = 0
        self._cache: dict[bytes, dict[str, float]] = {}
        self.full = self._forward([None])[0]

    def _forward(self, masks: Sequence[np.ndarray | None]) -> list[Any]:
        torch = self.torch
        ids = torch.as_tensor([self.ids] * len(masks), dtype=torch.long)
        kwargs: dict[str, Any] = {}
        if masks[0] is not None:
            allowed = torch.as_tensor(np.stack([m for m in masks if m is not None]))
            kwargs["attention_mask"] = torch.where(allowed, 0.0, torch.finfo(torch.float32).min)[:, None]
        if self.causal:
            kwargs["use_cache"] = False
        if isinstance(self.model, lens.LensModel):
            self.passes += 1
            out_logits = lens.logits(self.model, ids, kwargs.get("attention_mask"))
            return list(torch.log_softmax(out_logits.double(), dim=-1))
        net = self.model if self.causal else getattr(self.model, "base_model", self.model)
        with torch.inference_mode(), eager_attention(self.model):
            out = net(input_ids=ids, **kwargs)
        self.passes += 1
        if self.causal:
            return list(torch.log_softmax(out.logits.double(), dim=-1))  # [T, vocab] each
        return list(out.last_hidden_state.double())  # [T, d] each

    def _divergence(self, out: Any) -> dict[str, float]:
        torch = self.torch
        if self.causal:
            lp, lq = self.full[1:], out[1:]
            p, q = lp.exp(), lq.exp()
            lm = torch.log((p + q) / 2)
            js = (0.5 * ((p * (lp - lm)).sum(-1) + (q * (lq - lm)).sum(-1)) / np.log(2)).clamp(0, 1)
            return {"main": float(js.mean()), "other": float(js[-1])}
        cos = torch.nn.functional.cosine_similarity
        return {
            "main": 1 - float(cos(self.full.mean(0), out.mean(0), dim=0)),
            "other": float((1 - cos(self.full, out, dim=-1)).mean()),
        }

    def divergences(self, partitions: Sequence[np.ndarray], progress: Any = None) -> list[dict[str, float]]:
        """How far the output moves with each partition's between-group attention cut."""
        keys = [np.asarray(p, dtype=np.int32).tobytes() for p in partitions]
        todo: dict[bytes, np.ndarray] = {}
        for key, labels in zip(keys, partitions, strict=True):
            if key not in self._cache:
                todo.setdefault(key, np.asarray(labels))
        pending = list(todo.items())
        for start in range(0, len(pending), self.batch):
            chunk = pending[start : start + self.batch]
            outs = self._forward([partition_mask(labels, self.causal) for _, labels in chunk])
            for (key, _), out in zip(chunk, outs, strict=True):
                self._cache[key] = self._divergence(out)
            if progress is not None:
                progress(min(start + self.batch, len(pending)), len(pending))
        return [self._cache[k] for k in keys]
