"""TransformerLens models a user already holds: a ``HookedTransformer`` read through its own hook points.

:func:`wrap` dresses a ``HookedTransformer`` as much as the pipeline reads of a
model (:class:`LensModel`: a ``config`` with the shape, the context length and
``model_type = "transformer_lens"``), and :func:`run` runs it once with hooks on
the hook points :data:`attn_widget.extract.families.HOOKED` names: each layer's
attention pattern is handed over as it is computed (so streaming, ``keep="summary"``,
holds one layer at a time, as for Hugging Face models) and the value norms
``‖v_{kv(h)}(x_j) W_O^h‖`` are measured from ``hook_v`` and ``W_O`` in the same pass.

What works: ``analyze`` (attention, ``measure="norm"``, streamed), ``links``,
``recluster``, ``explain`` (its cut test adds masks to the attention scores,
:func:`logits`). What needs model internals this module does not drive yet
(gradients, ablation, generation) is refused with that reason (:func:`refuse`).
The ``transformer-lens`` package is never imported here: a model is recognised
by its class name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .families import HOOKED

MODEL_TYPE = "transformer_lens"
"""``config.model_type`` of a wrapped model."""


def is_hooked(model: Any) -> bool:
    """Whether ``model`` is a TransformerLens ``HookedTransformer`` (by class name: no import)."""
    return any(c.__name__ == "HookedTransformer" for c in type(model).__mro__)


@dataclass
class LensConfig:
    """The parts of a Hugging Face config the pipeline reads, from a ``HookedTransformerConfig``."""

    name_or_path: str
    num_hidden_layers: int
    num_attention_heads: int
    n_positions: int
    model_type: str = MODEL_TYPE
    is_decoder: bool = True
    is_encoder_decoder: bool = False
    _attn_implementation: str = "eager"

    def get_text_config(self) -> LensConfig:
        return self


class LensModel:
    """A ``HookedTransformer`` (``.lens``) with the ``config`` the pipeline reads; run by :func:`run`."""

    def __init__(self, lens: Any) -> None:
        cfg = lens.cfg
        self.lens = lens
        name = str(getattr(cfg, "model_name", "") or "")
        self.config = LensConfig(
            name_or_path=f"transformer_lens:{name}" if name and name != "custom" else "HookedTransformer",
            num_hidden_layers=int(cfg.n_layers),
            num_attention_heads=int(cfg.n_heads),
            n_positions=int(cfg.n_ctx),
        )

    def eval(self) -> LensModel:
        self.lens.eval()
        return self

    def parameters(self) -> Any:
        return self.lens.parameters()

    def modules(self) -> Any:
        return self.lens.modules()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(refuse(self, "running it as a Hugging Face model"))


def wrap(model: Any) -> LensModel:
    """``model`` (a ``HookedTransformer``) as a :class:`LensModel`; attention-only models included."""
    if getattr(model.cfg, "attention_dir", "causal") != "causal":
        raise ValueError(
            f"model {type(model).__name__} attends in both directions (attention_dir="
            f"{model.cfg.attention_dir!r}); attn_widget reads TransformerLens models that are causal"
        )
    return LensModel(model)


def refuse(model: Any, feature: str) -> str:
    """Why ``feature`` is not available for a TransformerLens model, and what is."""
    return (
        f"{feature} is not available for TransformerLens models ({model.config.name_or_path}) yet: it needs "
        "model internals attn_widget drives only in Hugging Face models. analyze() (measure='attention' "
        "or 'norm', keep='summary' too), links, recluster and explain work; for the rest load the same "
        "weights with transformers (AutoModelForCausalLM.from_pretrained(name, attn_implementation='eager'))"
    )


def run(
    model: LensModel,
    ids: Sequence[int],
    on_pattern: Callable[[int, Any], None],
    norms: list[np.ndarray] | None,
) -> None:
    """Run the model on ``ids``: ``on_pattern(layer, [1, head, T, T])`` per layer, norms into ``norms``."""
    import torch

    lens = model.lens
    device = next(lens.parameters()).device
    tokens = torch.tensor([list(ids)], dtype=torch.long, device=device)
    values: dict[int, Any] = {}

    def layer_of(name: str) -> int:
        return int(name.split(".")[1])

    def take_values(v: Any, hook: Any) -> None:
        values[layer_of(hook.name)] = v[0].detach()  # [T, kv heads, hd]

    def take_pattern(pattern: Any, hook: Any) -> None:
        layer = layer_of(hook.name)
        if norms is not None and layer in values:
            norms.append(_norms(values.pop(layer), _w_o(lens, layer)))
        on_pattern(layer, pattern)

    hooks: list[tuple[Any, Any]] = [(lambda n: n.endswith("." + HOOKED.pattern), take_pattern)]
    if norms is not None:
        hooks.insert(0, (lambda n: n.endswith("." + HOOKED.values), take_values))
    with torch.inference_mode():
        lens.run_with_hooks(tokens, return_type=None, fwd_hooks=hooks)


def logits(model: LensModel, ids: Any, additive: Any | None) -> Any:
    """``[batch, T, vocab]`` logits for the id tensor ``ids``, with ``additive`` (``[batch, 1, T, T]``) added
    to every layer's attention scores before the softmax (the cut test's masks), at the hook point
    :data:`~attn_widget.extract.families.HOOKED` names."""
    import torch

    hooks = []
    if additive is not None:
        mask = additive

        def add(scores: Any, hook: Any) -> Any:
            return scores + mask.to(scores.dtype)

        hooks.append((lambda n: n.endswith("." + HOOKED.scores), add))
    with torch.inference_mode():
        return model.lens.run_with_hooks(ids, return_type="logits", fwd_hooks=hooks)


def _w_o(lens: Any, layer: int) -> Any:
    module = lens.blocks[layer]
    for part in HOOKED.w_o.split("."):
        module = getattr(module, part)
    return module  # [head, hd, d_model]


def _norms(values: Any, w_o: Any) -> np.ndarray:
    """``[head, T]`` norms from ``values`` ``[T, kv, hd]`` and ``w_o`` ``[head, hd, d]`` (kv repeated)."""
    import torch

    heads, kv = w_o.shape[0], values.shape[1]
    if kv != heads:
        values = values[:, torch.arange(heads, device=values.device) // (heads // kv)]
    f = torch.einsum("thk,hkd->htd", values.to(w_o.dtype), w_o.detach())
    return f.norm(dim=-1).to(torch.float32).cpu().numpy()
