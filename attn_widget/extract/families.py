"""The one place that knows architectures: where each family keeps its attention and how it is laid out.

One small :class:`Family` entry per ``config.model_type`` (after TransformerLens'
architecture adapters and inseq's ``model_config.yaml``): the class of the module
holding one layer's attention (the *block*), and, relative to it, the module whose
output holds the values, how queries/keys/values are laid out in it, the output
projection (whose input holds the heads side by side, head ``h`` in columns
``h·hd:(h+1)·hd`` in every family here), the submodule that returns the attention
weights, the positions (documentation; masks are added per layer, so no family
needs its own mask code) and whether layers share one module (ALBERT).

Layouts of the values (``layout``):

- ``"separate"``: a value projection of its own, ``[T, kv·hd]`` (Llama, OPT, BERT,
  …; grouped-query attention when ``kv < heads``);
- ``"blocks"``: one fused projection ``q | k | v`` (GPT-2's ``Conv1D`` ``c_attn``,
  Phi-3's ``qkv_proj``, ModernBERT's ``Wqkv``): values are the last ``kv·hd`` columns;
- ``"grouped"``: one fused projection laid out per key/value group ``[kv, g + 2, hd]``,
  the group's ``g`` queries then its key then its value. GPT-NeoX and Bloom
  (``g = 1``: ``q k v`` interleaved per head) and all three Falcon variants
  (per head, multi-query ``kv = 1``, and the new decoder architecture).

:func:`layers` turns a model into one :class:`Layer` per attention layer *run*
(ALBERT runs one module several times), which the hooks for streaming
(:mod:`~attn_widget.extract.hooks`), value norms (:mod:`~attn_widget.extract.values`)
and ablation (:mod:`~attn_widget.extract.ablation`) read. A model type with no entry
is tried by :func:`generic` (a separate value projection and an output projection under
the usual names); what cannot be found raises :class:`UnsupportedModel`, naming the
family and what is missing.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

LAYOUTS = ("separate", "blocks", "grouped")
"""How a family lays out its values (see the module docstring)."""


@dataclass(frozen=True)
class Family:
    """Where one family keeps its attention. Paths are relative to the block (``""``: the block itself)."""

    block: tuple[str, ...]
    """Class names of the module holding one layer's attention (value and output projections)."""
    values: str
    """The module whose output holds the values (fused with queries and keys unless ``"separate"``)."""
    out: str
    """The output projection; its input is the heads side by side."""
    layout: str = "separate"
    weights: str = ""
    """The submodule whose output holds the attention weights (at ``index``)."""
    index: int = 1
    positions: str = "rotary"
    """``"learned"``, ``"rotary"``, ``"alibi"`` or ``"relative"`` (for readers: masks are added per layer)."""
    conv1d: bool = False
    """Weights stored ``[in, out]`` (GPT-2's ``Conv1D``) instead of ``[out, in]`` (``nn.Linear``)."""
    shared: bool = False
    """One module runs several layers (ALBERT): hooks count calls instead of modules."""
    streams: bool = True
    """The weights module returns its weights without ``output_attentions=True`` (DeBERTa-v2: no)."""
    lean: bool = False
    """:mod:`attn_widget.extract.lean` reproduces its eager attention exactly."""
    blocks: bool = True
    """Its attention module calls transformers' attention interface, so :mod:`attn_widget.extract.blocks`
    can compute its weights a block of queries at a time (no: code of its own)."""


def _llama(block: str, **kw: Any) -> Family:
    return Family((block,), "v_proj", "o_proj", **kw)


def _bert(prefix: str) -> Family:
    return Family((prefix + "Attention",), "self.value", "output.dense", weights="self", positions="learned")


FAMILIES: dict[str, Family] = {
    "gpt2": Family(("GPT2Attention",), "c_attn", "c_proj", "blocks", positions="learned", conv1d=True),
    "gpt_neo": Family(("GPTNeoSelfAttention",), "v_proj", "out_proj", positions="learned", blocks=False),
    "gptj": Family(("GPTJAttention",), "v_proj", "out_proj"),
    "gpt_neox": Family(("GPTNeoXAttention",), "query_key_value", "dense", "grouped"),
    "opt": Family(("OPTAttention",), "v_proj", "out_proj", positions="learned"),
    "bloom": Family(
        ("BloomAttention",), "query_key_value", "dense", "grouped", positions="alibi", blocks=False
    ),
    "falcon": Family(("FalconAttention",), "query_key_value", "dense", "grouped"),
    "llama": _llama("LlamaAttention", lean=True),
    "mistral": _llama("MistralAttention"),
    "mixtral": _llama("MixtralAttention"),
    "qwen2": _llama("Qwen2Attention"),
    "qwen3": _llama("Qwen3Attention"),
    "gemma": _llama("GemmaAttention"),
    "gemma2": _llama("Gemma2Attention"),
    "gemma3_text": _llama("Gemma3Attention"),
    "phi": Family(("PhiAttention",), "v_proj", "dense"),
    "phi3": Family(("Phi3Attention",), "qkv_proj", "o_proj", "blocks"),
    "olmo2": _llama("Olmo2Attention"),
    "stablelm": _llama("StableLmAttention"),
    "starcoder2": _llama("Starcoder2Attention"),
    "granite": _llama("GraniteAttention"),
    "bert": _bert("Bert"),
    "roberta": _bert("Roberta"),
    "electra": _bert("Electra"),
    "distilbert": Family(("DistilBertSelfAttention",), "v_lin", "out_lin", positions="learned"),
    "albert": Family(("AlbertAttention",), "value", "dense", positions="learned", shared=True),
    "deberta-v2": Family(
        ("DebertaV2Attention",),
        "self.value_proj",
        "output.dense",
        weights="self",
        positions="relative",
        streams=False,
        blocks=False,
    ),
    "modernbert": Family(("ModernBertAttention",), "Wqkv", "Wo", "blocks"),
}
"""``config.model_type`` → :class:`Family`. A new family is one entry here plus a tiny-config test."""


@dataclass(frozen=True)
class Hooked:
    """Where a TransformerLens ``HookedTransformer`` keeps its attention (paths under ``blocks[layer]``)."""

    pattern: str = "attn.hook_pattern"
    """Hook point of the ``[batch, head, query, key]`` attention pattern."""
    scores: str = "attn.hook_attn_scores"
    """Hook point of the scores before the softmax (masks are added there)."""
    values: str = "attn.hook_v"
    """Hook point of the values, ``[batch, T, kv heads, head_dim]`` (grouped-query: fewer kv heads)."""
    w_o: str = "attn.W_O"
    """Output weights ``[head, head_dim, d_model]``."""


HOOKED = Hooked()
"""The TransformerLens layout (:mod:`attn_widget.extract.lens` reads it)."""

VALUE_NAMES = ("v_proj", "value", "v_lin", "value_proj", "self.value", "self.value_proj")
OUT_NAMES = ("o_proj", "out_proj", "dense", "c_proj", "out_lin", "Wo", "output.dense")


class UnsupportedModel(ValueError):
    """A feature needs a part of a model's attention that :data:`FAMILIES` and :func:`generic` miss."""


@dataclass(frozen=True, eq=False)
class Layer:
    """One attention layer as run: its modules and the shapes the hooks need."""

    block: Any
    weights: Any
    """Module whose output holds the ``[batch, head, T, T]`` weights at ``index``."""
    index: int
    value_module: Any
    value_cols: Any
    """``slice`` or index tensor of the value module's output columns: ``[kv·hd]``, key/value head major."""
    out: Any
    """Output projection; its input holds the heads side by side."""
    n_heads: int
    n_kv: int
    head_dim: int
    conv1d: bool

    @property
    def kv_of(self) -> np.ndarray:
        """Key/value head each query head reads (grouped-query attention repeats them)."""
        return np.arange(self.n_heads) // (self.n_heads // self.n_kv)

    def w_o(self) -> Any:
        """``[head, head_dim, d_model]``: head ``h`` writes ``z_h @ w_o[h]``."""
        weight = self.out.weight
        return (weight if self.conv1d else weight.T).reshape(self.n_heads, self.head_dim, -1)


def model_type(model: Any) -> str:
    """The family name ``config.model_type`` (``"?"`` without a config)."""
    return str(getattr(getattr(model, "config", None), "model_type", None) or "?")


def family_of(model: Any) -> Family | None:
    """The table's entry for ``model``, or what :func:`generic` finds, or ``None``."""
    return FAMILIES.get(model_type(model)) or generic(model)


def generic(model: Any) -> Family | None:
    """A guess for a family with no entry: modules named ``*Attention`` with a separate value projection.

    Only the ``"separate"`` layout can be guessed: a fused projection's order of
    queries, keys and values differs between families, so it needs an entry.
    """
    for module in model.modules():
        name = type(module).__name__
        if not name.endswith("Attention"):
            continue
        values = next((p for p in VALUE_NAMES if _get(module, p) is not None), None)
        out = next((p for p in OUT_NAMES if _get(module, p) is not None), None)
        if values is not None and out is not None:
            weights = "self" if values.startswith("self.") else ""
            return Family((name,), values, out, weights=weights, positions="unknown")
    return None


_LAYERS: weakref.WeakKeyDictionary[Any, list[Layer]] = weakref.WeakKeyDictionary()


def layers(model: Any, *, name: str | None = None, need: str = "the attention layers") -> list[Layer]:
    """One :class:`Layer` per attention layer run by ``model``, in order (cached per model).

    Raises
    ------
    UnsupportedModel
        Naming the model, its family and what is missing, for ``need`` (the feature asking).
    """
    found = _LAYERS.get(model)
    if found is None:
        found = _build(model, name or _name(model), need)
        _LAYERS[model] = found
    return found


def weight_modules(model: Any) -> list[tuple[Any, int]] | None:
    """``(module, index of the weights in its output)`` per layer run, for a family in the table whose
    modules return their weights unasked; ``None`` otherwise (then the model's own declaration is read)."""
    family = FAMILIES.get(model_type(model))
    found = try_layers(model) if family is not None and family.streams else None
    return None if found is None else [(layer.weights, layer.index) for layer in found]


def try_layers(model: Any) -> list[Layer] | None:
    """:func:`layers`, or ``None`` for a model whose attention is not known."""
    try:
        return layers(model)
    except UnsupportedModel:
        return None


def _build(model: Any, name: str, need: str) -> list[Layer]:
    kind = model_type(model)
    family = family_of(model)
    where = f"model {name!r} (family {kind!r}, {type(model).__name__})"
    add = f"add an entry for {kind!r} to attn_widget.extract.families.FAMILIES"
    if family is None:
        raise UnsupportedModel(
            f"{where}: {need} needs its attention modules, and none was found (no module named *Attention "
            f"with a value projection ({', '.join(VALUE_NAMES)}) and an output projection "
            f"({', '.join(OUT_NAMES)})); use measure='attention', or {add}"
        )
    blocks = [m for m in model.modules() if type(m).__name__ in family.block]
    if not blocks:
        raise UnsupportedModel(f"{where}: {need} needs its {' or '.join(family.block)} modules; found none")
    config = getattr(model, "config", None)
    text = config.get_text_config() if config is not None and hasattr(config, "get_text_config") else config
    heads = _heads(text, blocks[0])
    out: list[Layer] = []
    for block in blocks:
        parts = {p: _get(block, p) for p in (family.values, family.out, family.weights)}
        missing = [p for p, m in parts.items() if m is None]
        if missing or heads is None:
            what = f"no submodule {missing[0]!r}" if missing else "no number of heads in its config"
            raise UnsupportedModel(f"{where}: {need}: its {type(block).__name__} has {what}; {add}")
        vm, om = parts[family.values], parts[family.out]
        width = _width(om, family.conv1d, inputs=True)
        hd = width // heads
        cols, kv = _value_cols(family.layout, _width(vm, family.conv1d, inputs=False), heads, hd)
        if kv <= 0 or heads % kv:
            raise UnsupportedModel(f"{where}: {need}: cannot read {heads} heads of {hd} from {family.values}")
        weights = parts[family.weights]
        out.append(Layer(block, weights, family.index, vm, cols, om, heads, kv, hd, family.conv1d))
    if family.shared:
        n = int(getattr(text, "num_hidden_layers", len(out)))
        out = [out[i * len(out) // n] for i in range(n)]
    return out


def _value_cols(layout: str, width: int, heads: int, hd: int) -> tuple[Any, int]:
    """Columns of the values in the value module's output (kv head major), and the number of kv heads."""
    import torch

    if layout == "separate":
        kv = width // hd
        return slice(0, kv * hd), kv
    if layout == "blocks":
        kv = (width // hd - heads) // 2
        return slice(width - kv * hd, width), kv
    if layout == "grouped":  # [kv, g + 2, hd]: g queries, a key, a value per group
        kv = (width // hd - heads) // 2
        if kv <= 0:
            return slice(0, 0), kv
        group = (heads // kv + 2) * hd
        starts = np.arange(kv) * group + group - hd
        return torch.as_tensor((starts[:, None] + np.arange(hd)).ravel()), kv
    raise ValueError(f"layout={layout!r}: choose one of {LAYOUTS}")


def _heads(config: Any, block: Any) -> int | None:
    for key in ("num_attention_heads", "n_head", "num_heads", "n_heads"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    value = getattr(block, "num_heads", None) or getattr(block, "num_attention_heads", None)
    return int(value) if value else None


def _width(module: Any, conv1d: bool, *, inputs: bool) -> int:
    shape = module.weight.shape  # Linear: [out, in]; Conv1D: [in, out]
    return int(shape[0] if inputs == conv1d else shape[1])


def _get(module: Any, path: str) -> Any:
    for part in path.split(".") if path else ():
        module = getattr(module, part, None)
        if module is None:
            return None
    return module


def _name(model: Any) -> str:
    return str(getattr(getattr(model, "config", None), "name_or_path", "") or type(model).__name__)
