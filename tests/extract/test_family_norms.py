"""Norm attention ‖α_ij f_h(x_j)‖ = α_ij ‖v_h(x_j) W_O^h‖ against a hand computation, one family per layout.

The values and the output projection are read from the weights by hand, the way
each family's own code lays them out (written here, not taken from
:mod:`attn_widget.extract.families`): GPT-2's fused ``Conv1D``, GPT-NeoX's and
Bloom's ``q k v`` interleaved per head, Falcon's multi-query groups, separate
projections (OPT), grouped-query attention (Llama), fused ``q | k | v`` with
grouped-query attention (Phi-3) and without (ModernBERT), and ALBERT's one
module run as every layer. Each hand computation is first checked against the
model itself (the heads' outputs rebuilt from it equal the output projection's
output), then the library's norm attention is checked against it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_families import CAUSAL, build

from attn_widget.extract.families import FAMILIES as TABLE
from attn_widget.extract.forward import forward_pass
from attn_widget.graph.measures import MEASURES

IDS = [464, 3797, 3332, 319, 262, 2603, 780, 340, 373, 10032, 13, 3244, 340]
"""A planted input: GPT-2 ids of "The cat sat on the mat because it was tired. Then it"."""


def hand(family: str, block, x: torch.Tensor, h: int) -> tuple[torch.Tensor, torch.Tensor, torch.nn.Module]:
    """``(values [head, T, hd], W_O [head, hd, d], output projection)`` of a layer of ``h`` heads, by hand."""
    t = x.shape[0]
    lin = torch.nn.functional.linear
    if family == "gpt2":  # Conv1D: weight [in, out], output q | k | v
        d = block.c_proj.weight.shape[0]
        v = (x @ block.c_attn.weight + block.c_attn.bias)[:, 2 * d :].view(t, h, -1)
        return v.transpose(0, 1), block.c_proj.weight.view(h, -1, d), block.c_proj
    if family in ("gpt_neox", "bloom", "falcon"):
        proj = block.query_key_value
        qkv = lin(x, proj.weight, proj.bias)
        d = block.dense.weight.shape[0]
        hd = d // h
        if family == "gpt_neox":  # [T, head, (q | k | v) of the head]
            v = qkv.view(t, h, 3 * hd)[..., 2 * hd :]
        elif family == "bloom":  # [T, head, 3, hd]
            v = qkv.view(t, h, 3, hd)[:, :, 2]
        else:  # multi-query: [T, h queries + 1 key + 1 value, hd]
            v = qkv.view(t, h + 2, hd)[:, -1:].expand(t, h, hd)
        return v.transpose(0, 1), block.dense.weight.T.reshape(h, hd, d), block.dense
    if family in ("opt", "llama", "albert"):
        names = {"opt": ("v_proj", "out_proj"), "llama": ("v_proj", "o_proj"), "albert": ("value", "dense")}
        vp, op = names[family]
        vproj, oproj = getattr(block, vp), getattr(block, op)
        d = oproj.weight.shape[0]
        hd = oproj.weight.shape[1] // h
        v = lin(x, vproj.weight, vproj.bias).view(t, -1, hd)  # [T, kv, hd]
        v = v[:, torch.arange(h) // (h // v.shape[1])]  # query head h reads kv head h // group
        return v.transpose(0, 1), oproj.weight.T.reshape(h, hd, d), oproj
    if family == "phi3":  # q | k | v, 2 key/value heads
        kv, hd = 2, 16
        v = block.qkv_proj(x)[:, (h + kv) * hd :].view(t, kv, hd)[:, torch.arange(h) // 2]
        return v.transpose(0, 1), block.o_proj.weight.T.reshape(h, hd, -1), block.o_proj
    if family == "modernbert":  # [T, 3, head, hd]
        hd = 16
        v = block.Wqkv(x).view(t, 3, h, hd)[:, 2]
        return v.transpose(0, 1), block.Wo.weight.T.reshape(h, hd, -1), block.Wo
    raise AssertionError(family)


BLOCKS = {
    "gpt2": "GPT2Attention", "gpt_neox": "GPTNeoXAttention", "bloom": "BloomAttention",
    "falcon": "FalconAttention", "opt": "OPTAttention", "llama": "LlamaAttention",
    "albert": "AlbertAttention", "phi3": "Phi3Attention", "modernbert": "ModernBertAttention",
}  # fmt: skip


@pytest.mark.parametrize("family", list(BLOCKS))
def test_norm_attention_is_attention_times_the_norm_of_each_heads_output_by_hand(family):
    model = build(family, seed=1).double()
    model.config._attn_implementation = "eager"
    with torch.no_grad():  # sharpen the weights so heads differ and the norms spread
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(4.0)
    inputs, outputs = [], []
    heads = model.config.num_attention_heads
    blocks = [m for m in model.modules() if type(m).__name__ == BLOCKS[family]]

    def take_input(_m, args, kwargs):
        inputs.append((args[0] if args else kwargs["hidden_states"])[0].detach())

    handles = [b.register_forward_pre_hook(take_input, with_kwargs=True) for b in blocks]
    zero = torch.zeros(1, model.config.hidden_size, dtype=torch.float64)
    for b in blocks:  # each block's output projection: the heads' outputs summed
        proj = hand(family, b, zero, heads)[2]
        handles.append(proj.register_forward_hook(lambda _m, _i, o: outputs.append(o[0].detach())))
    base = getattr(model, "base_model", model)
    with torch.no_grad():
        out = base(input_ids=torch.tensor([IDS]), output_attentions=True)
    for handle in handles:
        handle.remove()
    alphas = [a[0] for a in out.attentions]
    assert len(inputs) == len(alphas) == len(outputs) == 2, "one call per layer (ALBERT: one block, twice)"
    expected = []
    for layer, (x, alpha) in enumerate(zip(inputs, alphas, strict=True)):
        with torch.no_grad():
            v, w_o, proj = hand(family, blocks[min(layer, len(blocks) - 1)], x, heads)
            f = torch.einsum("htk,hkd->htd", v, w_o)  # f_h(x_j) = v_h(x_j) W_O^h
            # the hand reading is the model's own: Σ_h Σ_j α_hij f_h(x_j) + bias is the projection's output
            bias = 0 if proj.bias is None else proj.bias
            rebuilt = torch.einsum("hij,hjd->id", alpha, f) + bias
        np.testing.assert_allclose(rebuilt.numpy(), outputs[layer].numpy(), atol=1e-8)
        expected.append((alpha[:, :, :, None] * f[:, None]).norm(dim=-1).numpy())  # ‖α_ij f_h(x_j)‖
    att, data = forward_pass(model, IDS, name=family, causal=family in CAUSAL)
    norm_attention = MEASURES["norm"](att, data)
    np.testing.assert_allclose(norm_attention, np.stack(expected), rtol=1e-5, atol=1e-9)


def test_each_layout_kind_is_covered_by_a_hand_computation():
    kinds = {(TABLE[f].layout, TABLE[f].conv1d, TABLE[f].shared) for f in BLOCKS}
    assert kinds == {(layout, conv, shared) for layout, conv, shared in
                     {(e.layout, e.conv1d, e.shared) for e in TABLE.values()}}  # fmt: skip
