"""The frozen result of watching a model write: :class:`Generation`, its :class:`Step` s and cluster tracks.

:func:`attn_widget.analyze_generation` makes it. Each step holds the analysis
of the sequence so far (prompt and the tokens generated up to and including
that step's token), the chosen token and its alternatives. Clusters are
followed from step to step (:class:`Track`): a cluster keeps its track, and so
its colour, while it grows; a split, a merge, a new cluster and one that ends
are :class:`Event` s. Computing any of this lives in the layers above.

The model reads causally, so step ``k``'s raw attention is the leading block of
the last step's: ``Generation.save`` writes that once and
``Generation.load`` slices it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from . import archive
from .analysis import Analysis
from .prediction import Candidate, candidates
from .records import Token
from .result import Result
from .serialize import fields_equal

FORMAT_VERSION = 1
"""Version of :meth:`Generation.to_dict`."""

PREFIX_DATA = frozenset({"value_norm"})
"""Per-head data (``head_data`` keys) per key token: step ``k``'s is a prefix of the last step's."""

NO_TRACK = -1
"""Track id of a cluster of one token (tracks follow clusters of two or more)."""


@dataclass(frozen=True)
class Settings:
    """How the tokens were chosen.

    Attributes
    ----------
    max_new_tokens
        Most tokens generated (fewer when the model ends its text).
    sample
        False: greedy (the most likely token each step); True: sampled with ``seed``.
    seed, temperature, top_k, top_p
        Sampling settings, as ``model.generate`` takes them (``top_k`` 0: off).
    chat
        The prompt went through the tokenizer's chat template.
    """

    max_new_tokens: int
    sample: bool = False
    seed: int = 0
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    chat: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True, eq=False)
class Step:
    """One generated token and the analysis of everything up to it.

    Attributes
    ----------
    index
        Step number, from 0.
    position
        Token index of the generated token in ``analysis`` (its last token).
    probability
        The model's probability of the token it chose.
    alternatives
        The five most likely tokens at that point, most likely first.
    analysis
        Clusters of the prompt and the tokens generated so far.
    tracks
        Track id of each of ``analysis.clusters`` (:data:`NO_TRACK` for one-token clusters).
    """

    index: int
    position: int
    probability: float
    alternatives: tuple[Candidate, ...]
    analysis: Analysis
    tracks: tuple[int, ...]

    @property
    def token(self) -> Token:
        """The token generated at this step."""
        return self.analysis.tokens[self.position]

    def track_of(self, cluster: int) -> int:
        """Track id of cluster id ``cluster`` of this step's analysis."""
        for c, track in zip(self.analysis.clusters, self.tracks, strict=True):
            if c.id == cluster:
                return track
        raise ValueError(f"step {self.index} has no cluster {cluster}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Step) and fields_equal(self, other)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Track:
    """A cluster followed across steps.

    Attributes
    ----------
    id
        Track id, numbered by the step it appears at.
    born, last
        First and last step at which it exists.
    slot
        Colour slot: tracks alive at the same step never share one.
    parent
        The track it split off from (``None``: it formed on its own, or was there at step 0).
    merged_into
        The track that took it over after step ``last`` (``None``: it ended, or lasts to the end).
    """

    id: int
    born: int
    last: int
    slot: int
    parent: int | None = None
    merged_into: int | None = None


EVENT_KINDS = ("formed", "split", "merged", "ended")


@dataclass(frozen=True)
class Event:
    """Something that happened to the clusters at one step.

    ``tracks`` by kind: ``formed`` (new,); ``split`` (from, new parts…); ``merged``
    (into, absorbed…); ``ended`` (track,).
    """

    step: int
    kind: str
    tracks: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Generation(Result):
    """Result of :func:`attn_widget.analyze_generation`. Immutable; see the module docstring.

    ``save(path)`` / ``Generation.load(path)`` write and read one file (the raw
    attention once: every step's is a leading block of the last step's).

    Attributes
    ----------
    prompt
        The prompt as given.
    text
        The generated text, readable (special tokens such as the end of a chat turn left out).
    steps
        One :class:`Step` per generated token.
    tracks, events
        Clusters followed across steps, and what happened to them.
    model
        Model name.
    settings
        How tokens were chosen.
    prompt_length
        Tokens before the first generated one (BOS and chat template included).
    hidden
        Token indices not shown as text (the chat template around the prompt and reply).
    stop
        ``"length"`` (``max_new_tokens`` reached) or ``"eos"`` (the model ended its text).
    notices
        Things the user should know.
    """

    prompt: str
    text: str
    steps: tuple[Step, ...]
    tracks: tuple[Track, ...]
    events: tuple[Event, ...]
    model: str
    settings: Settings
    prompt_length: int
    hidden: tuple[int, ...] = ()
    stop: str = "length"
    notices: tuple[str, ...] = field(default=())

    KIND: ClassVar[str] = "generation"

    @property
    def analysis(self) -> Analysis:
        """The last step's analysis (the whole text)."""
        return self.steps[-1].analysis

    @property
    def tokens(self) -> tuple[Token, ...]:
        """Every token of the final sequence."""
        return self.analysis.tokens

    def formed_at(self, step: int, cluster: int) -> int | None:
        """The step at which cluster ``cluster`` of step ``step`` first appeared (``None``: one token)."""
        track = self.steps[step].track_of(cluster)
        return None if track == NO_TRACK else self.tracks[track].born

    def events_at(self, step: int) -> tuple[Event, ...]:
        """What happened to the clusters at step ``step``."""
        return tuple(e for e in self.events if e.step == step)

    def __repr__(self) -> str:
        return (
            f"Generation({len(self.steps)} steps, {self.settings.max_new_tokens} max, "
            f"{'sampled' if self.settings.sample else 'greedy'}, {len(self.tracks)} cluster tracks, "
            f"model={self.model!r}, text={self.text[:40]!r})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Generation) and fields_equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    # ----------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of everything but the raw attention and per-head data."""
        return {
            "format_version": FORMAT_VERSION,
            "prompt": self.prompt,
            "text": self.text,
            "model": self.model,
            "settings": self.settings.to_dict(),
            "prompt_length": self.prompt_length,
            "hidden": list(self.hidden),
            "stop": self.stop,
            "notices": list(self.notices),
            "tracks": [dict(t.__dict__) for t in self.tracks],
            "events": [{"step": e.step, "kind": e.kind, "tracks": list(e.tracks)} for e in self.events],
            "steps": [
                {
                    "index": s.index,
                    "position": s.position,
                    "probability": s.probability,
                    "alternatives": [c.to_dict() for c in s.alternatives],
                    "tracks": list(s.tracks),
                    "analysis": s.analysis.to_dict(),
                }
                for s in self.steps
            ],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], arrays: Mapping[str, np.ndarray] | None = None) -> Generation:
        """Inverse of :meth:`to_dict`; ``arrays`` (as ``save`` writes them) give the raw attention back."""
        archive.check_version(d, "generation", (FORMAT_VERSION,))
        arrays = dict(arrays or {})
        att = arrays.get("attentions")
        steps = []
        for s in d["steps"]:
            n = len(s["analysis"]["tokens"])
            data = {k: v[..., :n] for k, v in arrays.items() if k.removeprefix("head_data/") in PREFIX_DATA}
            data = {k.removeprefix("head_data/"): v for k, v in data.items()}
            own = f"steps/{s['index']}/"
            data.update({k.removeprefix(own): v for k, v in arrays.items() if k.startswith(own)})
            analysis = Analysis.from_dict(
                s["analysis"], attentions=None if att is None else att[:, :, :n, :n], head_data=data
            )
            steps.append(
                Step(
                    int(s["index"]),
                    int(s["position"]),
                    float(s["probability"]),
                    candidates(s["alternatives"]),
                    analysis,
                    tuple(int(t) for t in s["tracks"]),
                )
            )
        return cls(
            prompt=d["prompt"],
            text=d["text"],
            steps=tuple(steps),
            tracks=tuple(Track(**t) for t in d["tracks"]),
            events=tuple(Event(int(e["step"]), str(e["kind"]), tuple(e["tracks"])) for e in d["events"]),
            model=d["model"],
            settings=Settings(**d["settings"]),
            prompt_length=int(d["prompt_length"]),
            hidden=tuple(int(i) for i in d["hidden"]),
            stop=str(d["stop"]),
            notices=tuple(d["notices"]),
        )

    def arrays(self) -> dict[str, Any]:
        """The last step's raw attention and prefix data, and each step's other per-head data."""
        last = self.analysis
        out: dict[str, Any] = {"attentions": last.attentions}
        out.update({f"head_data/{k}": v for k, v in last.head_data.items() if k in PREFIX_DATA})
        for s in self.steps:
            out.update(
                {f"steps/{s.index}/{k}": v for k, v in s.analysis.head_data.items() if k not in PREFIX_DATA}
            )
        return out
