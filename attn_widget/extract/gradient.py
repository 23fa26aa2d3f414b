"""What the output depends on: attention times its gradient, ``|α ⊙ ∂J/∂α|``, from one backward pass.

After Hao et al. 2021 ("Self-attention attribution"), with a single backward
pass instead of their integrated-gradients path: the post-softmax attention
``α`` of every head is treated as an input of that head, and each edge is
weighted by ``|α_ij · ∂J/∂α_ij|``, the first-order change of ``J`` if the edge
were removed. ``J`` is:

- causal models: ``Σ_t log p(argmax token at t | tokens ≤ t)``, how much the
  model's own next-token predictions, at every position, rest on each edge;
- encoders: ``e · sg(e / ‖e‖)`` with ``e`` the mean-pooled last hidden state
  (the sentence embedding all-MiniLM and other sentence encoders are trained to
  produce; ``sg`` stops the gradient): the share of the embedding, along its own
  direction, each edge carries. Sentence encoders ship without a masked-LM head,
  so a masked-token objective is not available for them.

Costs one forward and one backward pass, with the parameters' own gradients
switched off. Used by the ``gradient`` edge measure (:mod:`attn_widget.graph.measures`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.types import Attention
from . import lens, loading


def objective(out: Any, causal: bool) -> Any:
    """The scalar ``J`` whose gradient weighs the edges (see the module docstring)."""
    import torch

    if causal:
        logp = torch.log_softmax(out.logits[0].float(), dim=-1)
        return logp.gather(-1, logp.argmax(-1, keepdim=True)).sum()
    hidden = out.last_hidden_state[0].float()
    e = hidden.mean(dim=0)
    return e @ (e / e.norm()).detach()


def attention_gradient(model: Any, ids: Sequence[int], *, name: str, causal: bool) -> Attention:
    """``[layer, head, T, T]`` float32 ``|α ⊙ ∂J/∂α|`` for ``ids`` (one forward and one backward pass)."""
    import torch

    if isinstance(model, lens.LensModel):
        raise ValueError(lens.refuse(model, "measure='gradient'"))
    net = model if causal else getattr(model, "base_model", model)
    if causal and not hasattr(model, "get_output_embeddings"):
        raise ValueError(f"measure='gradient' needs model {name!r} with its language-model head")
    input_ids = torch.tensor([list(ids)], dtype=torch.long, device=next(model.parameters()).device)
    kwargs: dict[str, Any] = {"output_attentions": True, "attention_mask": torch.ones_like(input_ids)}
    if causal:
        kwargs["use_cache"] = False
    trainable = [p for p in model.parameters() if p.requires_grad]
    try:
        for p in trainable:  # only the activations need gradients: the backward pass costs about half
            p.requires_grad_(False)
        with torch.enable_grad(), loading.eager_attention(model):
            embeds = model.get_input_embeddings()(input_ids).detach().requires_grad_(True)
            out = net(inputs_embeds=embeds, **kwargs)
            layers = list(getattr(out, "attentions", None) or ())
            if not layers or any(a is None for a in layers):
                raise ValueError(
                    f"model {name!r} returned no attention weights; load it with attn_implementation='eager'"
                )
            for a in layers:
                a.retain_grad()
            objective(out, causal).backward()
            return np.stack(
                [(a[0] * a.grad[0]).abs().detach().to(torch.float32).cpu().numpy() for a in layers]
            )
    finally:
        for p in trainable:
            p.requires_grad_(True)
