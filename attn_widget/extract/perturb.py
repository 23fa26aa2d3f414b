"""Perturbed forward passes: attention edges knocked out, tokens erased or kept alone.

Used by the faithfulness scores (:mod:`attn_widget.evaluate.faithfulness`) and
anything else that asks "what does the model say if…". :class:`Runner` holds
one model and one input and reads its output the same way every time: the
next-token distribution at the last position for a causal model, the
mean-pooled, unit-length last hidden state for an encoder.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

from .loading import is_causal_config, load, model_lock


def knockout_mask(
    n: int, members: Sequence[int], protected: Sequence[int] = (), *, causal: bool = True
) -> np.ndarray:
    """``[n, n]`` bool: which query (row) may attend to which key (column) with ``members`` cut off.

    Pairs between ``members`` and the other tokens are removed both ways; the
    ``protected`` tokens (sink, special tokens) stay connected to everything;
    a causal model keeps its triangle.
    """
    inside = np.zeros(n, dtype=bool)
    inside[list(members)] = True
    rest = ~inside
    rest[list(protected)] = False
    allowed = np.tril(np.ones((n, n), dtype=bool)) if causal else np.ones((n, n), dtype=bool)
    return allowed & ~(inside[:, None] & rest[None, :]) & ~(rest[:, None] & inside[None, :])


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (base 2, in [0, 1]) between distributions along the last axis."""
    m = (p + q) / 2

    def kl(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(a > 0, a * np.log2(np.clip(a, 1e-300, None) / np.clip(b, 1e-300, None)), 0).sum(-1)

    return np.clip((kl(p, m) + kl(q, m)) / 2, 0.0, 1.0)


class Runner:
    """Forward passes for one model and input: full, knocked-out, erased, kept-only."""

    def __init__(self, model: Any, ids: Sequence[int], protected: Sequence[int], batch_size: int) -> None:
        import torch

        self.torch, self.model, self.batch = torch, model, max(1, int(batch_size))
        self.ids, self.protected = list(ids), sorted(set(protected))
        self.causal = is_causal_config(model.config)
        forward = getattr(model, "forward", None)
        self.keep_last = forward is not None and "logits_to_keep" in inspect.signature(forward).parameters
        self.full = self.readout([self.ids], None)[0]
        self.target = int(np.argmax(self.full)) if self.causal else None
        self.passes = 0

    def readout(self, batch: list[list[int]], masks: Any) -> np.ndarray:
        """Next-token probabilities (causal) or unit sentence embeddings (encoder), ``[B, D]``."""
        torch = self.torch
        ids = torch.as_tensor(batch, dtype=torch.long)
        kwargs: dict[str, Any] = {}
        if masks is not None:
            kwargs["attention_mask"] = torch.where(masks, 0.0, torch.finfo(torch.float32).min)[:, None]
        with torch.no_grad(), model_lock(self.model):  # no other thread's hooks see this pass
            if self.causal and self.keep_last:
                kwargs["logits_to_keep"] = 1  # only the last position's logits are read
            out = self.model(input_ids=ids, **kwargs)
        if self.causal:
            return torch.softmax(out.logits[:, -1].double(), dim=-1).numpy()
        emb = out.last_hidden_state.double().mean(dim=1)
        return torch.nn.functional.normalize(emb, dim=-1).numpy()

    def divergence(self, out: np.ndarray) -> np.ndarray:
        if not self.causal:
            return 1.0 - out @ self.full
        return jensen_shannon(self.full[None], out)

    def agreement(self, out: np.ndarray) -> np.ndarray:
        return out[:, self.target] if self.causal else np.clip(out @ self.full, 0.0, None)

    def _run(self, seqs: list[list[int]], masks: Any = None) -> np.ndarray:
        outs = []
        for s in range(0, len(seqs), self.batch):
            outs.append(
                self.readout(seqs[s : s + self.batch], None if masks is None else masks[s : s + self.batch])
            )
            self.passes += 1
        return np.concatenate(outs)

    def knockout(self, sets: Sequence[tuple[int, ...]]) -> np.ndarray:
        n = len(self.ids)
        masks = np.stack([knockout_mask(n, s, self.protected, causal=self.causal) for s in sets])
        return self._run([self.ids] * len(sets), self.torch.as_tensor(masks))

    def masked(self, masks: np.ndarray) -> np.ndarray:
        """Outputs with each ``[n, n]`` bool mask of ``masks`` (True: the query may attend to the key)."""
        return self._run([self.ids] * len(masks), self.torch.as_tensor(np.asarray(masks, dtype=bool)))

    def allowed(self) -> np.ndarray:
        """``[n, n]`` bool: the pairs the unperturbed model may attend (its causal triangle, or all)."""
        n = len(self.ids)
        return np.tril(np.ones((n, n), dtype=bool)) if self.causal else np.ones((n, n), dtype=bool)

    def keep_only(self, keep_sets: list[list[int]]) -> np.ndarray:
        return self._run([[self.ids[i] for i in k] for k in keep_sets])

    def erase(self, sets: list[tuple[int, ...]]) -> np.ndarray:
        n = len(self.ids)
        return self.keep_only([[i for i in range(n) if i not in set(s)] for s in sets])

    def only(self, sets: list[tuple[int, ...]]) -> np.ndarray:
        return self.keep_only([sorted(set(s) | set(self.protected)) for s in sets])

    def empty_agreement(self) -> float:
        if self.protected:
            return float(self.agreement(self.keep_only([list(self.protected)]))[0])
        config = self.model.config
        filler = getattr(config, "bos_token_id", None)
        filler = getattr(config, "eos_token_id", None) if filler is None else filler
        filler = self.ids[0] if not isinstance(filler, int) else filler
        return float(self.agreement(self.readout([[filler]], None))[0])


def model_and_ids(
    analysis: Any, model: Any, tokens: Sequence[Any], what: str
) -> tuple[Any, Any, list[int]]:
    """``(model, tokenizer, ids)`` for rerunning the model on ``tokens`` of ``analysis``.

    ``model`` is used as given, else loaded by the name the analysis records
    (``tokenizer`` is then the loaded one, else ``None``). ``what`` names the
    caller in the errors ("the cut test", "fad_curve", ...): tokens without
    ids, or no model and no name, are refused with the fix; an encoder–decoder
    pair (``analyze(source, target=...)``) is refused saying why.
    """
    pair = getattr(getattr(analysis, "options", None), "pair", None)
    if pair is not None:
        raise ValueError(
            f"{what} reruns the model on one text with attention knocked out, and this analysis reads a "
            f"source and a target through encoder–decoder model {analysis.model!r}; it is not built for pairs"
        )
    ids = [t.id for t in tokens]
    if any(i is None for i in ids):
        raise ValueError(
            f"{what} needs token ids (Token.id); this analysis has none (made from token strings). "
            "Analyse the text with a model: attn_widget.analyze(text, model=...), or pass Token(text, id=...)"
        )
    tokenizer = None
    if model is None:
        if not analysis.model:
            raise ValueError(f"{what} needs the model: pass model=... (the analysis does not name one)")
        model, tokenizer = load(analysis.model)
    return model, tokenizer, [int(i) for i in ids]
