"""Per-head data measured with the forward pass: value-output norms (hooks) and the attention gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers

from attn_widget.extract import families
from attn_widget.extract.forward import forward_pass
from attn_widget.extract.gradient import attention_gradient
from attn_widget.extract.values import layer_values

IDS = [3, 17, 42, 8, 99, 23, 64, 5, 77, 12]


def tiny(kind: str):
    """A 2-layer random model of each attention layout, sharpened so heads differ."""
    torch.manual_seed(0)
    if kind == "gpt2":
        config = transformers.GPT2Config(n_layer=2, n_head=4, n_embd=32, vocab_size=101, n_positions=64)
        model = transformers.GPT2LMHeadModel(config)
    elif kind == "llama":  # grouped-query attention: 4 query heads read 2 key/value heads
        config = transformers.LlamaConfig(
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            hidden_size=32,
            intermediate_size=64,
            vocab_size=101,
            max_position_embeddings=64,
        )
        model = transformers.LlamaForCausalLM(config)
    else:
        config = transformers.BertConfig(
            num_hidden_layers=2,
            num_attention_heads=4,
            hidden_size=32,
            intermediate_size=64,
            vocab_size=101,
            max_position_embeddings=64,
        )
        model = transformers.BertModel(config)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(6.0)
    model.config._attn_implementation = "eager"
    return model.double().eval()


def head_contributions(model, kind: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per layer: each head's output vectors f_h(x_j) from the weights, and the output projection's output."""
    values, outputs, handles = [], [], []
    for layer in layer_values(model):
        handles.append(layer.value_module.register_forward_hook(lambda m, i, o: values.append(o[0].detach())))
    for proj in projections(model, kind):
        handles.append(proj.register_forward_hook(lambda m, i, o: outputs.append(o[0].detach())))
    with torch.no_grad():
        out = getattr(model, "base_model", model)(input_ids=torch.tensor([IDS]), output_attentions=True)
    for h in handles:
        h.remove()
    per_head = []
    for layer, v in zip(layer_values(model), values, strict=True):
        vv = v[:, layer.value_cols].reshape(len(IDS), -1, layer.head_dim)[:, torch.as_tensor(layer.kv_of)]
        per_head.append(torch.einsum("thk,hkd->htd", vv, layer.w_o().detach()))  # [H, T, d]
    atts = [a[0] for a in out.attentions]
    rebuilt = [torch.einsum("hij,hjd->id", a, f) for a, f in zip(atts, per_head, strict=True)]
    gaps = [(o - r).numpy() for o, r in zip(outputs, rebuilt, strict=True)]
    return [f.norm(dim=-1).numpy() for f in per_head], gaps


def projections(model, kind: str) -> list:
    """Each layer's output projection, the one that mixes the heads back into the residual stream."""
    if kind == "gpt2":
        return [m.c_proj for m in model.modules() if hasattr(m, "c_attn")]
    if kind == "llama":
        return [m.o_proj for m in model.modules() if hasattr(m, "o_proj")]
    return [m.output.dense for m in model.modules() if hasattr(m, "self") and hasattr(m, "output")]


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
def test_value_norms_are_the_norms_of_what_each_head_writes(kind):
    model = tiny(kind)
    truth, residual = head_contributions(model, kind)
    _, data = forward_pass(model, IDS, name=kind, causal=kind != "bert")
    norms = data["value_norm"]
    assert norms.shape == (2, 4, len(IDS))
    np.testing.assert_allclose(norms, np.stack(truth), rtol=1e-5)
    # Σ_h Σ_j α_ij f_h(x_j) + bias is the projection's output: the norms are of its true parts
    for gap, proj in zip(residual, projections(model, kind), strict=True):
        bias = np.zeros(gap.shape[-1]) if proj.bias is None else proj.bias.detach().numpy()
        np.testing.assert_allclose(gap, np.broadcast_to(bias, gap.shape), atol=1e-9)


def test_value_norms_follow_weights_changed_in_place():
    """The norms go through a factor of each output projection, kept per model: editing the weights
    (a fine-tune step, a pruned head) must show in the next pass, not reuse the old factor."""
    model = tiny("llama")
    ids = IDS[:6]
    _, before = forward_pass(model, ids, name="llama", causal=True)
    o_proj = model.model.layers[1].self_attn.o_proj
    with torch.no_grad():
        o_proj.weight[:, 8:16] *= 3.0  # head 1 of layer 1 writes three times as much
        o_proj.weight[:, 24:32] = 0.0  # head 3 of layer 1 writes nothing (a rank-deficient slice)
    _, after = forward_pass(model, ids, name="llama", causal=True)
    expected = before["value_norm"].copy()
    expected[1, 1] *= 3.0
    expected[1, 3] = 0.0
    np.testing.assert_allclose(after["value_norm"], expected, rtol=1e-6, atol=1e-6)  # float32 norms


def test_a_model_the_hooks_do_not_know_gets_no_value_norms(tiny_gpt2, monkeypatch):
    class Opaque(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.config = inner, inner.config

        def forward(self, **kw):
            return self.inner(**kw)

    # a family with no entry, whose fused q|k|v cannot be guessed
    monkeypatch.delitem(families.FAMILIES, "gpt2")
    model, _ = tiny_gpt2
    att, data = forward_pass(Opaque(model), [464, 3797, 3332], name="opaque", causal=True)
    assert att.shape[-1] == 3
    assert data == {}


def test_the_gradient_is_attention_times_the_objectives_derivative_through_the_values():
    """Independent check: a head's output row is z_i = Σ_j α_ij v_j, so ∂J/∂α_ij = ∂J/∂z_i · v_j."""
    model = tiny("gpt2")
    grad = attention_gradient(model, IDS, name="tiny", causal=True)
    assert grad.shape == (2, 4, len(IDS), len(IDS))
    assert (grad >= 0).all()
    assert np.allclose(np.triu(grad, k=1), 0.0)  # a causal model: no edge to the future

    merged, values = [], []
    hooks = []
    for block in model.transformer.h:
        hooks.append(block.attn.c_attn.register_forward_hook(lambda m, i, o: values.append(o[0, :, 64:])))

        def keep(module, args):
            args[0].retain_grad()
            merged.append(args[0])

        hooks.append(block.attn.c_proj.register_forward_pre_hook(keep))
    out = model(input_ids=torch.tensor([IDS]), output_attentions=True)
    for h in hooks:
        h.remove()
    logp = torch.log_softmax(out.logits[0], -1)
    logp.gather(-1, logp.argmax(-1, keepdim=True)).sum().backward()
    for layer in range(2):
        dz = merged[layer].grad[0].reshape(len(IDS), 4, 8)  # [T, head, head_dim]
        v = values[layer].detach().reshape(len(IDS), 4, 8)
        d_alpha = torch.einsum("ihk,jhk->hij", dz, v)
        expected = (out.attentions[layer][0].detach() * d_alpha).abs().numpy()
        np.testing.assert_allclose(grad[layer], expected, rtol=1e-5, atol=1e-12)  # float32 out
