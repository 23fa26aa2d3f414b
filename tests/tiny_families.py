"""Tiny random-weight models of every family attn_widget supports, built from their config classes.

Each is 2 layers of 4 heads (hidden size 64; grouped-query attention with 2 key/value
heads where the family has it), with GPT-2's vocabulary so the GPT-2 tokenizer
fixture (``tests/fixtures/gpt2``) feeds it real ids. :func:`build` makes one in
well under a second. Imported by test modules (``tests/`` is on ``sys.path``); it
asserts nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

VOCAB = 50257
"""GPT-2's vocabulary: the tokenizer fixture's ids index each family's embedding as they are."""

SIZE: dict[str, Any] = {
    "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": VOCAB
}
ROTARY: dict[str, Any] = {
    **SIZE, "intermediate_size": 128, "num_key_value_heads": 2, "max_position_embeddings": 128
}
ENCODER: dict[str, Any] = {**SIZE, "intermediate_size": 128, "max_position_embeddings": 128}


def _spec(config: str, model: str, **kw: Any) -> tuple[str, str, dict[str, Any]]:
    return config, model, kw


FAMILIES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "gpt2": _spec("GPT2Config", "GPT2LMHeadModel", n_layer=2, n_head=4, n_embd=64, n_positions=128,
                  vocab_size=VOCAB),
    "gpt_neo": _spec("GPTNeoConfig", "GPTNeoForCausalLM", num_layers=2, num_heads=4, hidden_size=64,
                     max_position_embeddings=128, attention_types=[[["global", "local"], 1]],
                     window_size=16, vocab_size=VOCAB),
    "gptj": _spec("GPTJConfig", "GPTJForCausalLM", n_layer=2, n_head=4, n_embd=64, n_positions=128,
                  rotary_dim=8, vocab_size=VOCAB),
    "gpt_neox": _spec("GPTNeoXConfig", "GPTNeoXForCausalLM", **SIZE, intermediate_size=128,
                      max_position_embeddings=128),
    "opt": _spec("OPTConfig", "OPTForCausalLM", **SIZE, ffn_dim=128, word_embed_proj_dim=64,
                 max_position_embeddings=128),
    "bloom": _spec("BloomConfig", "BloomForCausalLM", n_layer=2, n_head=4, hidden_size=64, vocab_size=VOCAB),
    "falcon": _spec("FalconConfig", "FalconForCausalLM", **SIZE),  # multi-query: one key/value head
    "llama": _spec("LlamaConfig", "LlamaForCausalLM", **ROTARY),
    "mistral": _spec("MistralConfig", "MistralForCausalLM", **ROTARY),
    "mixtral": _spec("MixtralConfig", "MixtralForCausalLM", **ROTARY, num_local_experts=2,
                     num_experts_per_tok=1),
    "qwen2": _spec("Qwen2Config", "Qwen2ForCausalLM", **ROTARY),
    "qwen3": _spec("Qwen3Config", "Qwen3ForCausalLM", **ROTARY, head_dim=16),
    "gemma": _spec("GemmaConfig", "GemmaForCausalLM", **ROTARY, head_dim=16),
    "gemma2": _spec("Gemma2Config", "Gemma2ForCausalLM", **ROTARY, head_dim=16),
    "gemma3": _spec("Gemma3TextConfig", "Gemma3ForCausalLM", **ROTARY, head_dim=16),
    "phi": _spec("PhiConfig", "PhiForCausalLM", **SIZE, intermediate_size=128, max_position_embeddings=128),
    "phi3": _spec("Phi3Config", "Phi3ForCausalLM", **ROTARY, pad_token_id=0),
    "olmo2": _spec("Olmo2Config", "Olmo2ForCausalLM", **ROTARY, eos_token_id=0, pad_token_id=0),
    "stablelm": _spec("StableLmConfig", "StableLmForCausalLM", **ROTARY),
    "starcoder2": _spec("Starcoder2Config", "Starcoder2ForCausalLM", **ROTARY),
    "granite": _spec("GraniteConfig", "GraniteForCausalLM", **ROTARY),
    "bert": _spec("BertConfig", "BertModel", **ENCODER),
    "roberta": _spec("RobertaConfig", "RobertaModel", **{**ENCODER, "max_position_embeddings": 130}),
    "distilbert": _spec("DistilBertConfig", "DistilBertModel", n_layers=2, n_heads=4, dim=64, hidden_dim=128,
                        max_position_embeddings=128, vocab_size=VOCAB),
    "albert": _spec("AlbertConfig", "AlbertModel", **ENCODER, embedding_size=32),
    "electra": _spec("ElectraConfig", "ElectraModel", **ENCODER, embedding_size=32),
    "deberta_v2": _spec("DebertaV2Config", "DebertaV2Model", **ENCODER),
    "modernbert": _spec("ModernBertConfig", "ModernBertModel", **ENCODER, global_attn_every_n_layers=1,
                        pad_token_id=0, bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2),
}
"""Family → ``(config class, model class, config arguments)`` (names in ``transformers``)."""

CAUSAL = tuple(name for name, (_, model, _) in FAMILIES.items() if "CausalLM" in model or "LMHead" in model)
ENCODERS = tuple(name for name in FAMILIES if name not in CAUSAL)


def config_of(name: str) -> Any:
    """Family ``name``'s tiny config."""
    import transformers

    config_cls, _, kwargs = FAMILIES[name]
    return getattr(transformers, config_cls)(**kwargs)


def build(name: str, *, seed: int = 0, config: Callable[[Any], Any] | None = None) -> Any:
    """A fresh random model of family ``name`` in eval mode (``config`` may edit the config first)."""
    import torch
    import transformers

    made = config_of(name)
    if config is not None:
        config(made)
    torch.manual_seed(seed)
    return getattr(transformers, FAMILIES[name][1])(made).eval()

_PAIR_SIZE: dict[str, Any] = {
    "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 4, "decoder_attention_heads": 4,
    "d_model": 64, "encoder_ffn_dim": 128, "decoder_ffn_dim": 128, "vocab_size": VOCAB,
    "max_position_embeddings": 128,
}
SEQ2SEQ: dict[str, tuple[str, str, dict[str, Any]]] = {
    "t5": _spec("T5Config", "T5ForConditionalGeneration", num_layers=2, num_heads=4, d_model=64, d_kv=16,
                d_ff=128, vocab_size=VOCAB),
    "bart": _spec("BartConfig", "BartForConditionalGeneration", **_PAIR_SIZE),
    "marian": _spec("MarianConfig", "MarianMTModel", **_PAIR_SIZE, decoder_vocab_size=VOCAB, pad_token_id=1,
                    decoder_start_token_id=1, eos_token_id=2),
}
"""Encoder–decoder families (source → target, cross-attention), 2 layers of 4 heads each side, hidden 64."""


def build_pair(name: str, *, seed: int = 0, config: Callable[[Any], Any] | None = None) -> Any:
    """A fresh random encoder–decoder model of family ``name`` (a key of :data:`SEQ2SEQ`) in eval mode."""
    import torch
    import transformers

    config_cls, model_cls, kwargs = SEQ2SEQ[name]
    made = getattr(transformers, config_cls)(**kwargs)
    if config is not None:
        config(made)
    torch.manual_seed(seed)
    return getattr(transformers, model_cls)(made).eval()
