"""The work behind :mod:`attn_widget.api`'s functions for the results beside an analysis.

Watching a model write (:func:`generation`), rerunning it with attention
knocked out (:func:`rerun`) and re-clustering a generation, comparison or
ablation (:func:`recluster_result`) join the extract, graph and explain layers
as :mod:`attn_widget.api` does; ``api.py`` holds the public functions and their
documentation and calls these. The hand edits of a partition (:func:`refine`)
and the graph under another lens or measure (:func:`~attn_widget.runs.lensed.weights_under`,
:func:`measure_data`), re-exported by ``api.py``, live here too, so that
``api.py`` stays small. This
module is part of the api layer and never imports ``api.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core import Ablation, Analysis, Cluster, Comparison, Edit, Generation, Partition
from ..core.options import CLUSTER_OPTIONS
from ..core.serialize import jsonable
from ..explain.evidence import explain_again
from ..extract import ablation as _ablation
from ..extract.forward import check_gradient_memory, forward_pass
from ..extract.generate import generate
from ..extract.gradient import attention_gradient
from ..extract.loading import describe, is_causal_config, load
from ..extract.seq2seq import check_pair_options
from ..graph import compare as _compare
from ..graph import rebuild as _rebuild
from ..graph import recluster as _recluster
from ..graph import refine as _refine
from ..graph import steps as _steps
from ..graph.measures import NEEDS
from ..graph.metrics import modularity
from ..graph.pipeline import check_choices, make_clusters
from ..graph.threshold import symmetrise
from ..heads import lenses as _lenses
from . import streamed as _streamed
from .explaining import explain as explain_clusters
from .lensed import lens_heads, lens_under

Report = Callable[[str, float], Any]


def token_nodes(unit: str) -> None:
    """Refuse a generation whose nodes are not the model's tokens (``unit`` other than ``"token"``)."""
    if unit != "token":
        raise ValueError(
            f"unit={unit!r}: a generation is clustered token by token (each step adds one token, and a word "
            "or sentence may grow over several steps, so its clusters could not be followed from step to "
            f"step); use unit='token', or cluster the whole text by {unit}s (its last step, no forward "
            f"pass): generation.analysis.recluster(unit={unit!r})"
        )


def unknockable(analysis: Analysis) -> str:
    """Why ``analysis`` cannot be ablated: it is zoomed into part of the text."""
    return (
        "ablate() reruns the model on the whole text, and this analysis is zoomed into part of it; "
        "ablate the analysis you zoomed from"
    )


def generation(
    prompt: str, model: Any, tokenizer: Any, max_new_tokens: int, o: dict[str, Any], report: Report
) -> Generation:
    """Generate with attention (:mod:`attn_widget.extract.generate`), cluster every step, follow the clusters.

    ``o`` holds every option (defaults filled in). A named lens is resolved once,
    on the whole text, so every step reads the same heads.
    """
    token_nodes(o["unit"])
    if o["measure"] == "gradient":
        raise ValueError(
            "measure='gradient' needs one backward pass over each step's text, which generation does not "
            "run; use measure='attention' or 'norm' (measured as the model writes), or analyse one step's "
            "text with attn_widget.analyze(text, model=..., measure='gradient')"
        )
    w = generate(
        prompt, model, tokenizer, max_new_tokens=max_new_tokens, sample=o["sample"], seed=o["seed"],
        temperature=o["temperature"], top_k=o["top_k"], top_p=o["top_p"], chat=o["chat"],
        prepend_bos=o["prepend_bos"], progress=lambda stage, f: report(stage, 0.7 * f),
    )  # fmt: skip
    cluster = {k: o[k] for k in CLUSTER_OPTIONS}
    lens_heads = None
    if _streamed.named(o["lens"]):
        lens_heads, said = _lenses.resolve(o["lens"], w.attentions, w.tokens, w.model, o["measure"])
        cluster["lens"] = o["lens"] if lens_heads is not None else "all"
        w = dataclasses.replace(w, notices=(*w.notices, *said))
    analyses = _steps.step_analyses(
        w.attentions, w.tokens, w.text, w.prompt_length, model=w.model, notices=w.notices,
        head_data=w.head_data, sinks=w.sink, hidden=w.hidden, lens_heads=lens_heads,
        progress=lambda k, n: report(f"clustering step {k + 1} of {n}…", 0.7 + 0.3 * k / n), **cluster,
    )  # fmt: skip
    report("done", 1.0)
    return _steps.build_generation(
        prompt, w.reply, analyses, w.steps, prompt_length=w.prompt_length, model=w.model, settings=w.settings,
        hidden=w.hidden, stop=w.stop, notices=w.notices,
    )  # fmt: skip


def rerun(
    analysis: Analysis, tokens: Any, heads: Any, edges: Any, position: int | None, model: Any, tokenizer: Any
) -> Ablation:
    """The model of ``analysis`` run as it was and with the knockouts; the rerun clustered alike and compared.

    Both runs measure the per-head data ``analysis`` carries (value norms in
    the pass itself, the gradient by a backward pass under the same knockouts).
    """
    if analysis.options.zoom is not None:
        raise ValueError(unknockable(analysis))
    ids = [t.id for t in analysis.model_tokens]
    if any(i is None for i in ids) or not (analysis.model or model is not None):
        raise ValueError(
            "ablate needs the model and the token ids an analysis from attn_widget.analyze(text, model) has; "
            "this one was made from attention arrays (pass model=..., tokenizer=... and Token objects "
            "with ids)"
        )
    net, tok = (model, tokenizer) if model is not None else load(str(analysis.model))
    causal = is_causal_config(net.config)
    asked = _ablation.knockout(len(analysis.tokens), tokens, heads, edges, position, net, causal=causal)
    k = asked if analysis.options.unit == "token" else _pieces_of(analysis, asked, net, causal)
    run = [int(i) for i in ids if i is not None]
    name = str(analysis.model or describe(net))
    gradient = attention_gradient if "gradient" in analysis.head_data else None
    _, _, before = _ablation.rerun(net, run, name=name, causal=causal, position=k.position)
    att, data, after = _ablation.rerun(
        net, run, name=name, causal=causal, mask=k.mask, heads=k.heads, position=k.position, gradient=gradient
    )
    kept = {key: v for key, v in data.items() if key in analysis.head_data}  # what the analysis had
    again = repin(analysis, _rebuild.reanalyze(analysis, att, kept))
    change = None
    if before is not None and after is not None:
        change = _ablation.prediction_change(before, after, k.position, tok)
    return Ablation(
        before=analysis, after=again, tokens=asked.tokens, heads=k.heads, edges=asked.edges,
        prediction=change,
        comparison=_compare.compare(analysis, again), notices=k.notices,
    )  # fmt: skip


def _pieces_of(analysis: Analysis, asked: Any, net: Any, causal: bool) -> Any:
    """The knockout of the model's tokens that ``asked`` (over words or sentences) means.

    A word knocked out is all its pieces; an edge between two words is every
    edge between their pieces (key not after query in a causal model); the
    prediction read is the one after a word's last piece.
    """
    units = analysis.units
    edges = [
        (q, k) for qn, kn in asked.edges for q in units.pieces([qn]) for k in units.pieces([kn])
        if not causal or k <= q
    ]  # fmt: skip
    position = int(units.starts[asked.position + 1]) - 1
    pieces = units.pieces(list(asked.tokens)).tolist()
    return _ablation.knockout(int(units.starts[-1]), pieces, asked.heads, edges, position, net, causal=causal)


def repin(old: Analysis, new: Analysis) -> Analysis:
    """``new`` with the groups pinned in ``old``'s hand-edited partition pinned again.

    A pin whose tokens ``new`` leaves out of its graph lapses, and every pin when
    ``new`` clusters another ``unit`` (pins are node indices). ``new`` as it is
    when ``old`` has no pins.
    """
    same_nodes = new.options.unit == old.options.unit
    for group in old.partition.pins if old.partition is not None and same_nodes else ():
        try:
            new = refine(new, "pin", explain=False, tokens=list(group))
        except ValueError:  # a pinned token is left out of the new graph: the pin lapses
            continue
    return new


def recluster_result(result: Any, changes: dict[str, Any], recluster: Callable[..., Analysis]) -> Any:
    """A :class:`Generation`, :class:`Comparison` or :class:`Ablation` re-clustered with ``changes``.

    ``recluster`` re-clusters one analysis (:func:`attn_widget.recluster`). A
    generation is re-clustered at every step (a named lens resolved once, on
    the whole text; its own named lens found again under a changed measure, as
    for an analysis) and its clusters followed again; the others on both sides,
    then compared again.
    """
    if isinstance(result, Generation):
        token_nodes(changes.get("unit", "token"))
        last = result.analysis  # every step has the same options; the last one has every row
        lens = lens_under(last, changes.get("lens"), changes.get("measure", last.options.measure))
        heads = None
        if _streamed.named(lens):
            changes["lens"] = lens
            heads = lens_heads(last, changes)[0]
            if heads is None:
                changes["lens"] = "all"
        return _rebuild.recluster_steps(result, lens_heads=heads, **changes)
    if isinstance(result, (Comparison, Ablation)):
        a, b = (result.a, result.b) if isinstance(result, Comparison) else (result.before, result.after)
        pair = _compare.compare(recluster(a, **changes), recluster(b, **changes))
        if isinstance(result, Comparison):
            return pair
        old, new = a.units, pair.a.units
        tokens, edges = result.tokens, result.edges
        if not np.array_equal(old.starts, new.starts):  # another unit: the knockout said in its nodes
            tokens = old.carry(tokens, new)
            edges = tuple(sorted({
                (q, k) for qo, ko in edges for q in old.carry([qo], new) for k in old.carry([ko], new)
                if k <= q or ko > qo  # an edge that looked back still does
            }))  # fmt: skip
        return dataclasses.replace(
            result, before=pair.a, after=pair.b, comparison=pair, tokens=tokens, edges=edges
        )
    raise TypeError(
        f"recluster() takes an Analysis, Generation, Comparison or Ablation, not {type(result).__name__}"
    )


def refine(analysis: Analysis, op: str, *, explain: bool | None = None, **args: Any) -> Analysis:
    """Edit the partition by hand: a copy of ``analysis`` with edit ``op`` applied.

    Parameters
    ----------
    analysis
        The analysis whose partition to edit (its own, refined before or not).
    op
        A key of :data:`attn_widget.graph.refine.EDITS`:

        - ``"merge"``, ``clusters=[a, b, ...]``: join the clusters;
        - ``"split"``, ``cluster=c``: re-cluster inside ``c`` (Louvain on its part of
          the graph, else a cut in two), or with ``tokens=[...]`` those tokens
          leave as a new cluster;
        - ``"move"``, ``tokens=[...]``, ``to=c``: the tokens join cluster ``c``
          (``to=None``: a cluster of their own);
        - ``"pin"``, ``tokens=[...]``: the tokens join one cluster and every later
          edit keeps them together; ``"unpin"`` releases them.

        Cluster ids are those of ``analysis`` (clusters are renumbered by first
        token after each edit). Pinned partners always come along.
    explain
        Re-explain the clusters the edit changed (evidence, claims, rationale, headline),
        and the others whose evidence describes the partition before the edit (its
        contiguity, its cut test: :func:`attn_widget.explain.evidence.explain_again`);
        default: when ``analysis`` carries rationales. An edit that leaves the labels as
        they were (a pin of tokens already together, an unpin) keeps every explanation.
    **args
        The edit's arguments, as above.

    Returns
    -------
    Analysis
        New labels, clusters and modularity; ``partition`` records the clustering
        it started from, every edit with its modularity change, and the pins.
        (:func:`recluster` starts again from a fresh clustering; the widget then
        pins the pinned groups again and keeps the edited partition one undo away.)

    Raises
    ------
    ValueError
        For an unknown edit, cluster or token, a left-out token, or an edit that
        changes nothing; the message names the value and what to do.
    """
    sym = symmetrise(analysis.weights)
    start = Partition.start(analysis)
    words = [t.text for t in analysis.tokens]
    out = _refine.apply(op, analysis.labels, sym, start.pins, words, **args)
    q = modularity(sym, out.labels)
    before = {c.tokens: c for c in analysis.clusters}
    clusters = tuple(_carried(before.get(c.tokens), c) for c in make_clusters(sym, out.labels))
    edit = Edit(op, jsonable(args), out.tokens, out.text, float(analysis.modularity), q)
    partition = Partition(out.labels, start.base, q, (*start.edits, edit), out.pins)
    new = dataclasses.replace(
        analysis, labels=out.labels, clusters=clusters, modularity=q, partition=partition
    )
    if explain is None:
        explain = any(c.rationale is not None for c in analysis.clusters)
    changed = explain_again(analysis, new) if explain else []
    return explain_clusters(new, clusters=changed) if changed else new


def _carried(old: Cluster | None, fresh: Cluster) -> Cluster:
    """``fresh`` with the explanation of the same token set before the edit, if there was one."""
    if old is None:
        return fresh
    evidence = None if old.evidence is None else {**old.evidence, "cluster": fresh.id}
    return dataclasses.replace(
        fresh, evidence=evidence, claims=old.claims, rationale=old.rationale, headline=old.headline,
        scores=old.scores,
    )


def measure_data(analysis: Analysis, measure: str) -> Analysis:
    """``analysis`` with the per-head data ``measure`` needs, measured by running its model once more.

    ``"gradient"`` runs one forward and one backward pass; ``"norm"`` one forward
    pass with the value hooks. Needs the analysis's model and token ids.
    """
    check_choices({"measure": measure})
    needs = NEEDS.get(measure)
    if needs is None or needs in analysis.head_data:
        return analysis
    if analysis.options.pair is not None:  # an encoder–decoder pair: refused, saying why
        check_pair_options({"measure": measure}, str(analysis.model))
    if not analysis.model or any(t.id is None for t in analysis.model_tokens):
        raise ValueError(
            f"measure={measure!r} needs the model that made this analysis, and it names none (made from "
            f"attention arrays); analyse the text with a model: attn_widget.analyze(text, model=..., "
            f"measure={measure!r})"
        )
    model, _ = load(analysis.model)
    ids = [int(t.id) for t in analysis.model_tokens if t.id is not None]
    causal = is_causal_config(model.config)
    if analysis.kept == "summary":  # the per-head attention the new measure weighs was dropped
        raise _recluster.dropped(analysis, {"measure": measure})
    if measure == "gradient":
        check_gradient_memory(model.config, len(ids), name=analysis.model)
        data = {"gradient": attention_gradient(model, ids, name=analysis.model, causal=causal)}
    else:
        data = forward_pass(model, ids, name=analysis.model, causal=causal)[1]
    if needs not in data:
        raise ValueError(f"model {analysis.model!r}'s architecture gives no {needs.replace('_', ' ')}s")
    return dataclasses.replace(analysis, head_data={**analysis.head_data, **data})
