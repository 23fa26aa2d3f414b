"""Coreference heads: the heads whose strongest link from a pronoun is its antecedent, and reference links.

Found once per model (and edge measure) on the packaged probe
(``data/coref_probe.json``: items generated from templates by
:mod:`attn_widget.heads.probe_gen` and hand-labelled real sentences from Debian
``fortunes``; each marks a pronoun and its antecedent, many a distracting noun
nearer the pronoun). One pass per item; the heads and how they combine are
chosen by cross-validation (:mod:`attn_widget.heads.coref_fit`), the same rule
for every model, and the held-out accuracy is kept with them. Results are cached
in memory and on disk (next to converted models), keyed by model, measure, the
probe's content and :data:`RULE_VERSION`.

:func:`reference_links` gives, for an analysis, each pronoun's antecedent link
through these heads with a calibrated ``confidence`` (the probability, fitted on
held-out probe items, that the link is right, from the link's margin over the
runner-up, the heads' agreement and whether a second edge measure of the same
heads picks the same word); links at or above the model's own threshold
(:attr:`CorefHeads.threshold_cross`, chosen on the probe by
:func:`coref_fit.threshold`) are the ones to draw as sure (:attr:`Link.confident
<attn_widget.core.records.Link.confident>`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.cache import LRU
from ..core.files import write_atomic
from ..core.records import Link
from ..extract.forward import forward_pass
from ..extract.gradient import attention_gradient
from ..extract.loading import is_causal_config, load
from ..extract.offline import cache_dir
from ..extract.tokens import tokenize
from ..graph import weights as _weights
from ..graph.measures import NEEDS, measure_weights
from ..graph.sinks import detect_sinks
from . import coref_fit

if TYPE_CHECKING:
    from ..core import Analysis

CONFIDENT = 0.72
"""The threshold on :attr:`Link.confidence <attn_widget.core.records.Link.confidence>` of a
:class:`CorefHeads` that carries none of its own (made by hand). The probe run gives every model its own
(:attr:`CorefHeads.threshold`, :attr:`CorefHeads.threshold_cross`, by :func:`coref_fit.threshold`); 0.72
was the one threshold shared by SmolLM2 and MiniLM before (``benchmarks/bench_coref_confidence.py``)."""
PRONOUNS = frozenset(
    {
        "he",
        "she",
        "it",
        "they",
        "his",
        "her",
        "its",
        "their",
        "him",
        "them",
        "hers",
        "theirs",
        "himself",
        "herself",
        "itself",
        "themselves",
    }
)
"""Words :func:`reference_links` looks for an antecedent of."""
RULE_VERSION = 4
PROBE = "coref_probe.json"
MAX_TOKENS = 64
"""Probe items are cut to this many tokens when stacked (none is longer in the packaged probe)."""

PASS_STRIDE = 3
"""The ``norm`` and ``gradient`` probes use every third item: they need one pass per item (the
gradient a backward pass too), where ``attention`` runs the whole probe in padded batches."""

_CACHE: LRU[tuple[str, str, str], CorefHeads] = LRU(8)


@dataclass(frozen=True)
class CorefHeads:
    """The coreference heads of one model under one edge measure, how they were chosen, how well they do.

    ``scores["accuracy"]``: each head's own probe accuracy, ``[layer, head]``. ``rule``: the
    winning candidate (e.g. ``"greedy mean, 6 heads"``); ``cv_top1`` / ``cv_top3``: the
    antecedent is the top link / among the three strongest on held-out probe items
    (``coref_fit.FOLDS``-fold cross-validation); ``calibration``: the logistic
    coefficients that turn a link's margin and head agreement into its confidence;
    ``calibration_cross``: those of margin, agreement, whether the ``cross_measure`` (the second
    edge measure, :func:`cross_measure`) links the same word, and that times the margin (empty when
    the model's value norms are unknown); used when the analysis can measure both.
    ``threshold`` / ``threshold_cross``: the confidence at or above which a link of each calibration is
    sure (NaN: none is), chosen for this model on its held-out probe links by :func:`coref_fit.threshold`;
    ``sure``: those held-out links' ``(coverage, precision, precision of all links)`` at
    ``threshold_cross`` (at ``threshold`` when there is no cross calibration).
    """

    model: str
    measure: str
    heads: tuple[tuple[int, int], ...]
    scores: dict[str, np.ndarray] = field(repr=False)
    n_items: int = 0
    chance: float = 0.0
    rule: str = ""
    cv_top1: float = float("nan")
    cv_top3: float = float("nan")
    calibration: tuple[float, ...] = (0.0, 0.0, 0.0)
    seconds: float = 0.0
    cross_measure: str = ""
    calibration_cross: tuple[float, ...] = ()
    threshold: float = CONFIDENT
    threshold_cross: float = CONFIDENT
    sure: tuple[float, ...] = ()

    def describe(self, limit: int = 4) -> str:
        """The heads in words, with their accuracy, e.g. ``12.3 (84%), 14.1 (79%) …``."""
        acc = self.scores["accuracy"]
        shown = [f"{la}.{h} ({round(100 * float(acc[la, h]))}%)" for la, h in self.heads[:limit]]
        more = f" and {len(self.heads) - limit} more" if len(self.heads) > limit else ""
        return ", ".join(shown) + more

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["heads"] = [list(h) for h in self.heads]
        d["scores"] = {k: np.round(v, 4).tolist() for k, v in self.scores.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CorefHeads:
        return cls(
            d["model"],
            d["measure"],
            tuple((int(a), int(b)) for a, b in d["heads"]),
            {k: np.asarray(v, dtype=np.float64) for k, v in d["scores"].items()},
            int(d["n_items"]),
            float(d["chance"]),
            str(d["rule"]),
            float(d["cv_top1"]),
            float(d["cv_top3"]),
            tuple(float(x) for x in d["calibration"]),
            float(d.get("seconds", 0.0)),
            str(d.get("cross_measure", "")),
            tuple(float(x) for x in d.get("calibration_cross", ())),
            float(d.get("threshold", CONFIDENT)),
            float(d.get("threshold_cross", CONFIDENT)),
            tuple(float(x) for x in d.get("sure", ())),
        )

    def threshold_for(self, cross: bool) -> float:
        """The threshold of a confidence from ``calibration_cross`` (``cross``) or ``calibration``."""
        return self.threshold_cross if cross else self.threshold


def sure_words(found: CorefHeads) -> str:
    """The lens notice's sentence on when a pronoun's arc is drawn as sure (``""``: no measured threshold)."""
    if len(found.sure) != 3:
        return ""
    cover, precision, base = found.sure
    t = found.threshold_cross if found.calibration_cross else found.threshold
    if not np.isfinite(t):
        return (
            f" No confidence threshold kept held-out probe links right {round(100 * coref_fit.PRECISION)}% "
            f"of the time and {round(100 * coref_fit.LIFT)} points above all links "
            f"({round(100 * base)}%), so no pronoun's link is drawn as sure."
        )
    return (
        f" A pronoun's link is drawn as sure at confidence {t:.2f} or more, this model's threshold: held-out "
        f"probe links there were right {round(100 * precision)}% of the time ({round(100 * cover)}% of them; "
        f"all links {round(100 * base)}%)."
    )


def probe_items() -> list[dict[str, Any]]:
    """The packaged probe (text, character spans of pronoun, antecedent and distractor, source)."""
    probe = resources.files(__package__).joinpath("data").joinpath(PROBE)
    return json.loads(probe.read_text(encoding="utf-8"))


def span_tokens(tokens: Any, span: list[int]) -> list[int]:
    """Indices of the tokens overlapping the character span ``[a, b)``."""
    a, b = span
    inside = [t.start is not None and t.end is not None and t.start < b and t.end > a for t in tokens]
    return [i for i, yes in enumerate(inside) if yes]


def head_links(weights: np.ndarray, exclude: list[int], pronoun: list[int]) -> np.ndarray:
    """``[layer, head, T]``: each token's link to the pronoun per head (stronger direction, sinks out)."""
    w = np.array(weights, dtype=np.float64, copy=True)
    w[..., exclude] = 0.0
    w[..., exclude, :] = 0.0
    sums = w.sum(-1, keepdims=True)
    w = np.divide(w, sums, out=np.zeros_like(w), where=sums > 0)
    return np.maximum(w[:, :, pronoun, :].max(axis=2), w[:, :, :, pronoun].max(axis=3))


def cross_measure(measure: str) -> str:
    """The second edge measure a link's confidence is checked against: ``norm``, or ``attention``."""
    return "attention" if measure == "norm" else "norm"


def probe_features(
    model: Any,
    tokenizer: Any,
    name: str,
    measure: str = "attention",
    items: list[dict[str, Any]] | None = None,
) -> coref_fit.Features:
    """One pass per probe item (``items``: the packaged probe); see :class:`coref_fit.Features`."""
    return probe_runs(model, tokenizer, name, measure, items)[0]


def probe_runs(
    model: Any,
    tokenizer: Any,
    name: str,
    measure: str = "attention",
    items: list[dict[str, Any]] | None = None,
) -> tuple[coref_fit.Features, coref_fit.Features | None]:
    """The probe's features under ``measure`` and under :func:`cross_measure` (``None``: no value norms).

    The pronoun is its first token (as :meth:`Analysis.links` is asked); the
    antecedent counts when any of its tokens is the link.
    """
    causal = is_causal_config(model.config)
    items = probe_items() if items is None else items
    tokenized = probe_tokens(items, tokenizer, name, causal)
    runs = [ids for ids, _ in tokenized]
    batched = _batched_attention(model, runs, causal) if measure == "attention" else None
    rows: dict[str, list[tuple[np.ndarray, ...]]] = {"own": [], "cross": []}
    shape = (0, 0)
    for k, (item, (ids, tokens)) in enumerate(zip(items, tokenized, strict=True)):
        data: dict[str, np.ndarray] = {}
        if batched is not None:
            att, norms = batched[k]
            if norms is not None:
                data["value_norm"] = norms
        else:
            att, data = forward_pass(model, ids, name=name, causal=causal, value_norms=True)
        if measure == "gradient":
            data["gradient"] = attention_gradient(model, ids, name=name, causal=causal)
        weights = measure_weights(att, measure, data)
        own = {0} if causal else {i for i, t in enumerate(tokens) if t.special}
        exclude = sorted(set(detect_sinks(att)) | own)
        p, a = span_tokens(tokens, item["pronoun"]), span_tokens(tokens, item["antecedent"])
        if not (p and a):
            raise ValueError(f"probe item {item['id']!r}: a marked span covers no token")
        shape = (int(weights.shape[0]), int(weights.shape[1]))
        rows["own"].append(coref_fit.item_features(weights, exclude, p[0], a, MAX_TOKENS))
        if "value_norm" in data:
            second = measure_weights(att, cross_measure(measure), data)
            rows["cross"].append(coref_fit.item_features(second, exclude, p[0], a, MAX_TOKENS))
    far = [bool(i["far"]) for i in items]
    cross = coref_fit.stack(rows["cross"], far, shape) if len(rows["cross"]) == len(items) else None
    return coref_fit.stack(rows["own"], far, shape), cross


def probe_tokens(
    items: list[dict[str, Any]], tokenizer: Any, name: str, causal: bool
) -> list[tuple[Any, Any]]:
    """Each item's (ids, tokens), tokenized as the probe run does."""
    return [
        tokenize(
            item["text"],
            tokenizer,
            name=name,
            causal=causal,
            prepend_bos=None,
            limit=None,
            overlength="error",
        )[:2]
        for item in items
    ]


def _batched_attention(
    model: Any, runs: list[list[int]], causal: bool, batch: int = 16
) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Each run's ``[layer, head, T, T]`` attention and ``[layer, head, T]`` value norms (``None`` when the
    architecture's values are unknown), from padded batches of similar lengths.

    Padding goes at the end and is masked out, so each run's attention is its own
    pass's (a causal model's tokens never see later positions anyway). Several
    short texts per pass make the probe several times faster than one pass each;
    the model's head (SmolLM2's 49,152-word output layer, a fifth of its
    multiplications) is not run, since only the attention is read.
    """
    import torch

    from ..extract.loading import eager_attention
    from ..extract.values import value_norm_hooks

    out: list[tuple[np.ndarray, np.ndarray | None]] = [(np.empty(0), None)] * len(runs)
    body = getattr(model, "base_model", model)  # the transformer without its head: no logits to compute
    order = sorted(range(len(runs)), key=lambda i: len(runs[i]))
    for start in range(0, len(order), batch):
        chunk = order[start : start + batch]
        width = max(len(runs[i]) for i in chunk)
        ids = torch.zeros((len(chunk), width), dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, i in enumerate(chunk):
            ids[row, : len(runs[i])] = torch.as_tensor(runs[i])
            mask[row, : len(runs[i])] = 1
        with torch.inference_mode(), eager_attention(model), value_norm_hooks(model, every_row=True) as found:
            result = body(input_ids=ids, attention_mask=mask, output_attentions=True)
        att = torch.stack(result.attentions, 1).float().numpy()  # [B, layer, head, T, T]
        norms = np.stack(found, 1) if found and len(found) == att.shape[1] else None  # [B, layer, head, T]
        for row, i in enumerate(chunk):
            n = len(runs[i])
            out[i] = (att[row, :, :, :n, :n], None if norms is None else norms[row, :, :, :n])
    return out


def _probe_digest() -> str:
    raw = resources.files(__package__).joinpath("data").joinpath(PROBE).read_bytes()
    return hashlib.blake2b(raw + bytes([RULE_VERSION]), digest_size=8).hexdigest()


def _disk_path(name: str, measure: str, digest: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-80:]
    return cache_dir() / "coref" / f"{safe}-{measure}-{digest}.json"


def fit(
    name: str,
    features: coref_fit.Features,
    measure: str,
    seconds: float = 0.0,
    cross: coref_fit.Features | None = None,
) -> CorefHeads:
    """The heads :func:`coref_fit.choose` picks on ``features``, as a :class:`CorefHeads` (``cross``: the
    same items under :func:`cross_measure`, for the confidence's cross-check)."""
    chosen = coref_fit.choose(features, cross=cross)
    rule = f"{chosen['rule'][0]}, {len(chosen['heads'])} heads"
    plain, both = chosen["threshold"], chosen["threshold_cross"]
    return CorefHeads(
        name,
        measure,
        chosen["heads"],
        {"accuracy": chosen["accuracy"]},
        len(features.cand),
        float(np.mean(1.0 / np.clip(features.cand.sum(-1), 1, None))),
        rule,
        chosen["cv"]["top1"],
        chosen["cv"]["top3"],
        chosen["calibration"],
        seconds,
        cross_measure(measure) if cross is not None else "",
        chosen["calibration_cross"],
        plain[0],
        both[0] if both else plain[0],
        tuple((both or plain)[1:]),
    )


def coreference_heads(name: str, measure: str = "attention") -> CorefHeads:
    """The coreference heads of model ``name`` (a name :func:`attn_widget.extract.loading.load` knows)."""
    digest = _probe_digest() + ("" if measure == "attention" else f"s{PASS_STRIDE}")
    key = (name, measure, digest)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    path = _disk_path(name, measure, digest)
    if path.is_file():
        try:
            return _CACHE.put(key, CorefHeads.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged file: measure again
    model, tokenizer = load(name)
    start = time.perf_counter()
    items = probe_items()
    features, cross = probe_runs(
        model, tokenizer, name, measure, items if measure == "attention" else items[::PASS_STRIDE]
    )
    found = fit(name, features, measure, time.perf_counter() - start, cross)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(found.to_dict()).encode("utf-8"))  # a reader never sees half of it
    except OSError:
        pass  # a read-only cache folder: keep it in memory only
    return _CACHE.put(key, found)


def reference_links(analysis: Analysis, found: CorefHeads | None = None) -> list[tuple[int, Link]]:
    """For each pronoun of ``analysis`` (a word of :data:`PRONOUNS`), its antecedent link and its confidence.

    The link is the pronoun's strongest link through the model's coreference heads
    (``found``, default :func:`coreference_heads` of the analysis's model and
    measure), exactly ``analysis.links(i, k=1, lens="coreference")[0]``, with
    :attr:`~attn_widget.core.records.Link.confidence` set: the probability, fitted
    on held-out probe items, that it is right, from its margin over the runner-up,
    the share of the heads whose own strongest link it is and, when the analysis
    can measure it (``head_data["value_norm"]``, kept by default), whether the same
    heads under the second edge measure (:func:`cross_measure`) link the same word;
    and :attr:`~attn_widget.core.records.Link.confident`: whether that confidence reaches the
    model's threshold for that calibration (:meth:`CorefHeads.threshold_for`). Pronouns left out
    of the graph, or with no link, are skipped.
    Needs the raw attention (an analysis kept with ``keep="attention"``, the default
    for short texts); no forward pass runs once the heads are known.
    """
    if analysis.attentions is None:
        raise ValueError(
            "reference_links() reads the coreference heads' attention, and this analysis has none (streamed, "
            "or saved as .json); re-run attn_widget.analyze(text, model=...) or save with another suffix"
        )
    if found is None:
        if not analysis.model:
            raise ValueError(
                "reference_links() needs the model's coreference heads, and this analysis names no model "
                "(made from attention arrays); pass found=CorefHeads(...) or analyse with model=..."
            )
        found = coreference_heads(analysis.model, analysis.options.measure)
    options = dataclasses.replace(analysis.options, lens="coreference", lens_heads=found.heads)
    raw = _weights.combine_options(analysis.attentions, options, analysis.head_data)
    graph = _weights.node_weights(raw, options, analysis.units)
    per_head = measure_weights(analysis.attentions, options.measure, analysis.head_data)
    singles = [_weights.node_weights(per_head[la, h], options, analysis.units) for la, h in found.heads]
    second = _cross_graph(analysis, options, found)
    left_out = set(analysis.excluded)
    out = []
    for i, tok in enumerate(analysis.tokens):
        if tok.text.strip(" \t\n.,;:!?\"'()").lower() not in PRONOUNS or i in left_out:
            continue
        cand = np.ones(len(graph), dtype=bool)
        cand[[i, *left_out]] = False
        link = np.where(cand, np.maximum(graph[i], graph[:, i]), -np.inf)[None]
        each = np.stack([np.where(cand, np.maximum(s[i], s[:, i]), -np.inf) for s in singles])[None]
        j = int(np.argmax(link[0]))
        if not np.isfinite(link[0, j]) or link[0, j] <= 0:
            continue
        if second is None:
            feats = coref_fit.confidence_features(link, each)
            coef = found.calibration
        else:
            other = np.where(cand, np.maximum(second[i], second[:, i]), -np.inf)[None]
            feats, coef = coref_fit.confidence_features(link, each, other), found.calibration_cross
        conf = float(coref_fit.probability(coef, feats)[0])
        sure = bool(conf >= found.threshold_for(second is not None))  # NaN: no threshold, never sure
        direction = "out" if graph[i, j] >= graph[j, i] else "in"
        out.append((i, Link(j, analysis.tokens[j].text, float(link[0, j]), direction, conf, sure)))
    return out


def _cross_graph(analysis: Analysis, options: Any, found: CorefHeads) -> np.ndarray | None:
    """The coreference heads' graph under ``found.cross_measure`` (``None``: no such calibration, or the
    analysis lacks the per-head data that measure needs)."""
    if not found.calibration_cross or not found.cross_measure or analysis.attentions is None:
        return None
    need = NEEDS.get(found.cross_measure)
    if need is not None and need not in analysis.head_data:
        return None
    cross = dataclasses.replace(options, measure=found.cross_measure)
    raw = _weights.combine_options(analysis.attentions, cross, analysis.head_data)
    return _weights.node_weights(raw, cross, analysis.units)
