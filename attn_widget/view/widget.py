"""The notebook widget: :class:`AttentionExplainer` (anywidget).

Python side of ``js/src/widget.ts``. Small knobs are separate synced traits;
the analysis result is one versioned ``state`` trait built by
:func:`attn_widget.view.wire.to_state` (arrays travel as binary buffers).
Changing a knob, from Python or from the view, re-clusters through
:func:`attn_widget.recluster` (no forward pass; on a streamed analysis, a knob
that needs the per-head data it dropped runs the model again in the background,
:func:`attn_widget.rerun`); a knob set while a text is still being analysed is
applied when the analysis finishes. The ``zoom`` trait is the hierarchical view:
the inside of one cluster clustered on its own (:func:`attn_widget.zoom`; handled
in :mod:`attn_widget.view.zooming`). BertViz
drill-downs, explanations of the clicked cluster and its faithfulness are
fetched on demand with custom messages (:mod:`attn_widget.view.messages`);
:mod:`attn_widget.view.service` answers the last two.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from ..api import DroppedData, analyze, weights_under
from ..core import Analysis, Comparison, Generation
from ..core.options import CLUSTER_OPTIONS, DEFAULTS, TEXT_OPTIONS, check_names
from ..graph.aggregate import AGGREGATIONS
from ..graph.cluster import METHODS
from ..graph.measures import MEASURES, NEEDS
from ..heads.lenses import LENSES
from .assets import MISSING_BUNDLE, STATIC, bundle
from .drilldown import render as render_drilldown
from .figures import save_png, save_svg
from .firstscreen import FirstScreen, FirstScreenMixin
from .jobs import Activity, KnobJobs, drilldown_reply
from .knobs import KNOBS, KnobChecks, refusal, trait_values
from .knobs import changes as knob_changes
from .mapping import MapService
from .modes import ModesMixin
from .refining import Refinements, RefineMethods
from .service import ExplainService
from .standalone import save_html
from .static import StaticFallback
from .wire import to_state
from .zooming import ZoomMethods

_WIDGET_OPTIONS = frozenset({"explain_backend"})


def _drilldown_renderer() -> Any:
    """The drill-down renderer (a seam the tests replace)."""
    return render_drilldown


_ESM, _CSS = bundle()


_WARN_FROM_PYTHON = frozenset({"threshold", "method"})


class AttentionExplainer(ModesMixin, ZoomMethods, RefineMethods, KnobChecks, StaticFallback, FirstScreenMixin,
                         anywidget.AnyWidget):
    """Text with its attention clusters highlighted, a live threshold slider and a drill-down.

    Parameters
    ----------
    text_or_analysis
        Text to analyse (the model runs in a background thread while the widget
        shows progress), an :class:`~attn_widget.Analysis`, a
        :class:`~attn_widget.core.Generation` (adds a step slider and a play
        button: each step's new token is marked and its strongest links to the
        prompt listed, colours follow clusters across steps) or a
        :class:`~attn_widget.core.Comparison` (the second text below the first,
        matched clusters in one colour, differences marked). Every view can
        "remove and rerun" (:meth:`ablate`).
    **options
        As for :func:`attn_widget.analyze` (with text: ``model``, ``tokenizer``,
        ``prepend_bos``, ``exclude_sink``, ``overlength`` and the clustering
        options; ``unit`` defaults to ``"word"`` here) or :meth:`Analysis.recluster` (with an analysis),
        and ``explain_backend``: a language-model polish backend for the rationales shown on click
        (default ``None``: the grounded text; :func:`attn_widget.runs.explaining.explain`).
        Anything else raises :class:`TypeError`.

    Examples
    --------
    >>> w = AttentionExplainer(analysis)      # doctest: +SKIP
    >>> w.threshold = 0.05                     # re-clusters and redraws  # doctest: +SKIP
    >>> w.save_html("clusters.html")           # doctest: +SKIP
    """

    _esm = _ESM
    _css = _CSS

    state = t.Dict(allow_none=True, default_value=None).tag(sync=True)
    """dict | None: the analysis as the view renders it (:func:`attn_widget.view.wire.to_state`).

    None while a text analysis is loading."""
    threshold = t.Float(None, allow_none=True).tag(sync=True)
    """float | None: edge threshold in ``threshold_mode`` units; moves with the slider both ways.

    ``None`` while a text is being analysed, until you set it: the automatic value
    is known only when the analysis finishes. A value you set meanwhile is applied then."""
    threshold_mode = t.Unicode(DEFAULTS["threshold_mode"]).tag(sync=True)
    """str: ``"absolute"`` (edge weight) or ``"mass"`` (share of each token's attention).

    Default ``"absolute"``."""
    method = t.Unicode(DEFAULTS["method"]).tag(sync=True)
    """str: clustering method, a key of ``attn_widget.graph.cluster.METHODS``. Default ``"louvain"``."""
    aggregation = t.Unicode(DEFAULTS["aggregation"]).tag(sync=True)
    """str: how heads/layers combine, a key of ``attn_widget.graph.aggregate.AGGREGATIONS``.

    Default ``"mean"``."""
    layers: t.List[int] | None = t.List(t.Int(), allow_none=True, default_value=None).tag(sync=True)
    """list[int] | None: layers to aggregate (None: all)."""
    heads: t.List[Any] | None = t.List(allow_none=True, default_value=None).tag(sync=True)
    """list[[layer, head]] | None: heads for ``aggregation="heads"``."""
    selected_cluster = t.Int(None, allow_none=True).tag(sync=True)
    """int | None: cluster shown in the side panel (click a token or legend entry)."""
    status = t.Unicode("ready").tag(sync=True)
    """str: ``"loading"`` (model running), ``"running"`` (re-clustering), ``"ready"`` or ``"error"``."""
    progress = t.Unicode("").tag(sync=True)
    """str: what is running, in words, while ``status`` is loading/running."""
    error = t.Unicode("").tag(sync=True)
    """str: the last error in plain words ('' when none); the widget stays usable."""
    notices = t.List(t.Unicode()).tag(sync=True)
    """list[str]: things to know about the analysis (fallback model, truncation)."""
    methods = t.List(t.Unicode()).tag(sync=True)
    """list[str]: clustering methods offered in the view."""
    aggregations = t.List(t.Unicode()).tag(sync=True)
    """list[str]: aggregations offered in the view."""
    measure = t.Unicode(DEFAULTS["measure"]).tag(sync=True)
    """str: edge measure per head, a key of ``attn_widget.graph.measures.MEASURES``.

    ``"gradient"`` needs one extra backward pass, which the widget runs (with progress) when asked."""
    lens = t.Union([t.Unicode(), t.List(t.List(t.Int()))], default_value=DEFAULTS["lens"]).tag(sync=True)
    """str | list[[layer, head]]: the heads that make the graph, a key of
    ``attn_widget.heads.lenses.LENSES`` or ``(layer, head)`` pairs."""
    links_lens = t.Unicode("").tag(sync=True)
    """str: the lens of the hover links, chosen apart from the clusters' (``""``: the clusters' own),
    e.g. ``"coreference"`` to see a pronoun's antecedent while the clusters stay on the default."""
    measures = t.List(t.Unicode()).tag(sync=True)
    """list[str]: edge measures offered in the view."""
    lenses = t.List(t.Unicode()).tag(sync=True)
    """list[str]: named lenses offered in the view."""
    unit = t.Unicode("word").tag(sync=True)
    """str: what a node is: ``"word"`` (the widget's default for a text: people read words, not
    pieces), ``"token"`` or ``"sentence"`` (:mod:`attn_widget.core.units`): the text is marked by those."""
    zoom = t.Int(None, allow_none=True).tag(sync=True)
    """int | None: the cluster of the whole-text view that is shown from the inside: its words
    (tokens, when the view is of words) clustered on their own (:func:`attn_widget.zoom`);
    ``None`` (default): the whole text. Knobs then act on the zoomed view."""

    def __init__(
        self,
        text_or_analysis: str | Analysis | Generation | Comparison,
        *,
        explain_backend: Any = None,
        **options: Any,
    ) -> None:
        is_analysis = isinstance(text_or_analysis, (Analysis, Generation, Comparison))
        allowed = CLUSTER_OPTIONS if is_analysis else TEXT_OPTIONS - {"progress"}
        where = "with an Analysis" if is_analysis else "with text"
        check_names(options, allowed | _WIDGET_OPTIONS, f"AttentionExplainer() {where}")
        if not is_analysis and not isinstance(text_or_analysis, str):
            raise TypeError(
                "AttentionExplainer() takes text (str), an Analysis, a Generation or a Comparison, not "
                f"{type(text_or_analysis).__name__}"
            )
        if isinstance(text_or_analysis, str) and not text_or_analysis.strip():
            raise ValueError(
                f"text={text_or_analysis!r} is empty or only whitespace; give some text to analyse"
            )
        super().__init__(
            methods=METHODS.names(), aggregations=AGGREGATIONS.names(), measures=MEASURES.names(),
            lenses=LENSES.names(),
        )
        self.analysis: Analysis | None = None
        """The :class:`Analysis` on screen (None until a text analysis finishes)."""
        self.outer: Analysis | None = None
        """The whole-text analysis while the view is zoomed into one of its clusters (else None)."""
        self._zoomed: int | None = None  # the cluster of `outer` shown from the inside
        self._updating = False
        self._lock = threading.RLock()
        self._max_memory: Any = options.get("max_memory")  # a streamed text's budget, for knobs that rerun
        self._pending: set[str] = set()  # knobs set while the text was being analysed
        self._thread: threading.Thread | None = None
        self.activity = Activity()
        """What runs in the background, for the status line (:mod:`attn_widget.view.jobs`)."""
        self.jobs = KnobJobs(self)
        """The model work knobs need, one job at a time, the latest knobs applied at its end."""
        self.explain_service = ExplainService(explain_backend)
        """Explains the clicked cluster and measures its faithfulness (:mod:`attn_widget.view.service`)."""
        self.map_service = MapService()
        """Makes the token map the view asks for, in the background (:mod:`attn_widget.view.mapping`)."""
        self.refinements = Refinements(self.explain_service)
        """The hand edits' undo/redo history (:mod:`attn_widget.view.refining`)."""
        self.first_screen = FirstScreen(self._first_screen_ready)  # arcs and findings, off the main thread
        if not isinstance(_ESM, Path):
            self.error = MISSING_BUNDLE.format(path=STATIC / "widget.js")
        self.on_msg(self._on_custom_msg)
        first = self._init_modes(text_or_analysis)
        if first is not None:
            self._show(self._recluster(first, options) if options else first)
        else:
            self._start(str(text_or_analysis), {"unit": "word", **options})

    # ------------------------------------------------------------ text → analysis
    def _start(self, text: str, options: dict[str, Any]) -> None:
        model = options.get("model", DEFAULTS["model"])
        self.status = "loading"
        self.progress = f"Loading model {model if isinstance(model, str) else type(model).__name__}…"
        self._thread = threading.Thread(target=self._run, args=(text, options), daemon=True)
        self._thread.start()

    def _run(self, text: str, options: dict[str, Any]) -> None:
        try:
            analysis = analyze(text, progress=self._on_progress, **options)
        except Exception as exc:  # shown in the widget, which stays usable
            with self.hold_sync():
                self.error = f"The analysis failed: {exc}"
                self.status = "error"
                self.progress = ""
            return
        with self._lock:  # knobs set meanwhile wait here, then re-cluster the shown analysis
            pending, self._pending = self._pending, set()
            changes = knob_changes(analysis, self._knob_values(), only=pending)
            if changes:
                self._apply(analysis, changes, name=None)
            else:
                self._show(analysis)

    def _on_progress(self, stage: str, fraction: float) -> None:
        """Show the analysis's current stage ("loading model gpt2…") in the view's progress line."""
        if self.status == "loading" and fraction < 1:
            self.progress = stage[:1].upper() + stage[1:]

    def wait(self, timeout: float | None = None) -> Analysis:
        """Block until a text analysis, and the model work the knobs asked for, finish; return what is shown.

        Raises if the analysis failed or the wait timed out.
        """
        thread = self._thread  # the analysis's (or a knob job's, which may start the next one)
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise TimeoutError(f"the analysis is still running after {timeout} s")
        self.jobs.settle(timeout)
        if self.analysis is None:
            raise RuntimeError(self.error or "no analysis")
        return self.analysis

    # ------------------------------------------------------------- kernel → view
    def _show(self, analysis: Analysis) -> None:
        selected = self.selected_cluster
        keep = selected is not None and any(c.id == selected and c.size > 1 for c in analysis.clusters)
        self._updating = True
        try:  # under the lock: the arcs and findings, ready on their thread, are sent after this state
            with self._lock, self.hold_sync():
                self.analysis = analysis
                for name, value in trait_values(analysis).items():
                    setattr(self, name, value)
                self.notices = list(analysis.notices)
                if self.outer is None:
                    self.zoom = None
                self.selected_cluster = selected if keep else None
                self.state = self._state(analysis)
                self._show_modes(analysis)
                self.status, self.progress = self.activity.status()  # "ready" unless a job still runs
        finally:
            self._updating = False

    @t.observe(*KNOBS)
    def _on_knob(self, change: dict[str, Any]) -> None:
        with self._lock:
            if self._updating:
                return
            if self.analysis is None:
                if self.status == "loading":
                    self._pending.add(change["name"])  # applied when the analysis finishes
                return
            changes = knob_changes(self.analysis, self._knob_values())
            if changes:
                self._apply(self.analysis, changes, name=change["name"])

    def _state(self, analysis: Analysis) -> dict[str, Any]:
        """The state to show; its hover links through ``links_lens`` when that is not the clusters' lens."""
        arcs, findings = self.first_screen.wired(analysis)
        extra: dict[str, Any] = {"history": self.refinements.depth(), "arcs": arcs, "findings": findings,
                                 "token_map": self.map_service.coordinates(analysis)}
        if not self.links_lens or self.links_lens == analysis.options.lens:
            return to_state(analysis, **extra)
        weights = weights_under(analysis, lens=self.links_lens)
        return to_state(analysis, link_weights=weights, links_lens=self.links_lens, **extra)

    @t.observe("links_lens")
    def _on_links_lens(self, change: dict[str, Any]) -> None:
        with self._lock:
            if self._updating or self.analysis is None:
                return
            try:
                self.state = self._state(self.analysis)
            except (ValueError, TypeError, KeyError) as exc:
                self._put_back(change, f"Could not show links through lens {change['new']!r}: {exc}")
                return
            self.error = ""

    def _put_back(self, change: dict[str, Any], error: str) -> None:
        """Show ``error`` and put the changed trait back without reacting to it again."""
        self.error = error
        self._updating = True
        try:
            setattr(self, change["name"], change["old"])
        finally:
            self._updating = False

    def _apply(self, analysis: Analysis, changes: dict[str, Any], name: str | None) -> None:
        """Re-cluster ``analysis`` with ``changes`` and show it; on a bad value show ``analysis``."""
        needs = NEEDS.get(changes.get("measure", ""))
        if needs and needs not in analysis.head_data and analysis.model and analysis.kept != "summary":
            self.jobs.start("measure", analysis, changes, name)  # a backward pass first
            return
        self.status, self.progress = "running", "Re-clustering…"
        try:
            new = self.refinements.reclustered(analysis, self._recluster(analysis, changes))
        except DroppedData as exc:
            if not exc.rerun:
                self._refuse(analysis, changes, name, exc)
                return
            self.jobs.start("rerun", analysis, changes, name)  # the streamed analysis dropped it
            return
        except (ValueError, TypeError, KeyError) as exc:
            self._refuse(analysis, changes, name, exc)
            return
        self.error = ""
        self._show(new)

    def _refuse(self, analysis: Analysis, changes: dict[str, Any], name: str | None, exc: Exception) -> None:
        """Show ``analysis`` again (the knobs go back) and say why ``changes`` could not be applied."""
        self._show(analysis)  # put the knobs back where the analysis is
        self.error = refusal(changes, exc)
        # A bad threshold or method set from Python is an error on its own: say so in the
        # cell too. (Other knobs go together, e.g. aggregation="heads" then heads=[...], so
        # their passing errors stay in the view.) Knobs set during loading (name None) too.
        from_python = name is None or name not in self._property_lock
        if (name is None or name in _WARN_FROM_PYTHON) and from_python:
            warnings.warn(self.error, UserWarning, stacklevel=6)

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Take the view's trait values under the widget's lock: a background job's end, showing
        the knobs it applied, never lands between the view setting a knob and its re-clustering."""
        with self._lock:
            super().set_state(sync_data)

    # --------------------------------------------------------------- messages
    def _on_custom_msg(self, _: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        if isinstance(content, dict) and self._on_mode_msg(content):
            return
        if isinstance(content, dict) and self.explain_service.handle(content, self.analysis, self.send):
            return
        if isinstance(content, dict) and self.map_service.handle(content, self.analysis, self.send):
            return
        if isinstance(content, dict) and content.get("type") == "refine":
            with self._lock:
                self.send(self.refinements.handle(content, self.analysis, self._show_edited))
            return
        if not isinstance(content, dict) or content.get("type") != "drilldown":
            return
        reply, pages = drilldown_reply(self.analysis, content, _drilldown_renderer())
        self.send(reply, pages or None)

    def explain(self) -> Analysis:
        """Explain every cluster on screen, show the rationales in the view and return the analysis.

        Uses the same cache as the clicks (a cluster explained before costs nothing).
        """
        explained = self.explain_service.explain_all(self._ready())
        self._show(explained)
        return explained

    # ----------------------------------------------------------------- export
    def _ready(self) -> Analysis:
        if self.analysis is None:
            raise RuntimeError(self.error or "the analysis is still running; call .wait() first")
        return self.analysis

    def save_html(self, path: str | Path) -> Path:
        """Write one standalone, offline HTML page of this view (see :mod:`attn_widget.view.standalone`)."""
        a = self._ready()
        return save_html(a, path, token_map=self.map_service.coordinates(a))

    def save_svg(self, path: str | Path) -> Path:
        """Write the highlighted text and legend as SVG (see :func:`attn_widget.view.figures.save_svg`)."""
        return save_svg(self._ready(), path, labels=self._ready().labels)

    def save_png(self, path: str | Path, scale: float = 2.0) -> Path:
        """Write the highlighted text and legend as PNG (see :func:`attn_widget.view.figures.save_png`)."""
        return save_png(self._ready(), path, scale=scale)
