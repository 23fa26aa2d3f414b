"""The message contract: ``js/src/wire/messages.ts`` declares exactly the TypedDicts of ``messages.py``.

Each Python ``TypedDict`` is translated to the TypeScript it stands for
(``int | None`` → ``number | null``, ``Literal["a"]`` → ``"a"``, ``NotRequired[X]`` →
an optional ``key?``) and compared with the interface of the same name, so a
field added, renamed, retyped or re-tagged on one side only fails here.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import pytest
from typing_extensions import NotRequired, get_type_hints, is_typeddict

from attn_widget.view import messages

MESSAGES_TS = Path(__file__).resolve().parents[2] / "js" / "src" / "wire" / "messages.ts"
TYPED_DICTS = {
    name: obj
    for name, obj in vars(messages).items()
    if is_typeddict(obj) and obj.__module__ == messages.__name__
}

_SCALARS = {
    int: "number",
    float: "number",
    str: "string",
    bool: "boolean",
    type(None): "null",
    Any: "unknown",
}


def ts_type(annotation: Any) -> str:
    """The TypeScript type a Python annotation of a message field stands for."""
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if is_typeddict(annotation):
        return annotation.__name__
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return " | ".join(f'"{a}"' for a in args)
    if origin in (Union, types.UnionType):
        return " | ".join(ts_type(a) for a in args)
    if origin is list:
        inner = ts_type(args[0])
        return f"({inner})[]" if "|" in inner else f"{inner}[]"
    if origin is dict and args[0] is str:
        return f"Record<string, {ts_type(args[1])}>"
    raise AssertionError(f"no TypeScript spelling for {annotation!r}: extend ts_type")


def python_fields(cls: type) -> dict[str, str]:
    """``{"key" or "key?": TypeScript type}`` of one TypedDict."""
    hints = get_type_hints(cls, include_extras=True)
    out = {}
    for key, hint in hints.items():
        # NotRequired[...] under `from __future__ import annotations` is only seen in the hint
        optional = key in cls.__optional_keys__ or typing.get_origin(hint) is NotRequired
        if typing.get_origin(hint) is NotRequired:
            hint = typing.get_args(hint)[0]
        out[key + ("?" if optional else "")] = ts_type(hint)
    return out


def ts_interfaces(source: str) -> dict[str, dict[str, str]]:
    """``{interface name: {"key" or "key?": type}}`` of the exported interfaces of messages.ts."""
    out = {}
    for name, body in re.findall(r"export interface (\w+) \{\n(.*?)\n\}", source, re.S):
        members = re.findall(r"^\s*(\w+\??): (.+);$", body, re.M)
        out[name] = {key: " ".join(kind.split()) for key, kind in members}
    return out


@pytest.fixture(scope="module")
def interfaces() -> dict[str, dict[str, str]]:
    return ts_interfaces(MESSAGES_TS.read_text(encoding="utf-8"))


def test_every_python_message_has_a_typescript_interface_and_back(interfaces):
    assert sorted(TYPED_DICTS) == sorted(interfaces)
    expected = {"DrilldownRequest", "DrilldownReply", "ExplainRequest", "ExplainReply", "ScoresProgress"}
    assert expected | {"ClusterInfo"} <= set(interfaces)


@pytest.mark.parametrize("name", sorted(TYPED_DICTS))
def test_typescript_declares_the_same_fields_types_and_tags_as_python(name, interfaces):
    assert interfaces[name] == python_fields(TYPED_DICTS[name])


def test_the_translation_spells_optional_and_nested_types_as_typescript_does():
    assert python_fields(messages.DrilldownReply)["capped?"] == "boolean"
    assert python_fields(messages.ExplainReply)["type"] == '"explain_reply" | "scores_reply"'
    assert python_fields(messages.ExplainReply)["info"] == "ClusterInfo | null"
    assert python_fields(messages.ClusterInfo)["claims"] == "Record<string, unknown>[] | null"
    assert ts_type(list[int | None]) == "(number | null)[]"


def test_the_explain_service_answers_exactly_the_request_tags_the_view_sends():
    request_tags = typing.get_args(get_type_hints(messages.ExplainRequest)["type"])
    assert tuple(request_tags) == messages.EXPLAIN_TYPES
