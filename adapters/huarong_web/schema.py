"""JSON Schema for the core's values, and strict decoding of JSON into them.

One walk over Python type hints serves both directions, so the OpenAPI
document can never drift from what the API accepts and returns:

- `TypeSchemas.schema(t)` describes `t` as the API shows it: attrs classes
  become `#/components/schemas/<Name>` objects listing every field (cattrs
  writes every field, defaults included), enums their values, datetimes
  ISO 8601 text, sets and tuples arrays.
- `decode(t, value)` turns parsed JSON into `t`, refusing what the schema
  would refuse (a string where a number belongs, `true` for an int, an
  unknown field, a missing one) with the path of the offending value. cattrs
  would quietly turn `"5"` into `5` and `"no"` into `True`; an API that
  accepts what its document forbids cannot be trusted by its clients.
- `from_text(t, texts)` does the same for query-string and path values.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from typing import Any, Literal, Union

import attrs
import cattrs

from huarong_core.domain.roles import Scope
from huarong_core.domain.text import LocalizedText
from huarong_core.serialization import make_converter

__all__ = [
    "DecodeError",
    "TypeSchemas",
    "decode",
    "from_text",
    "is_optional",
    "json_converter",
    "optional_fields",
    "type_hints",
]

_NONE = type(None)
_INT = re.compile(r"-?\d{1,18}")
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_FRACTION = re.compile(r"-?\d{1,9}(/\d{1,9})?")


def json_converter() -> cattrs.Converter:
    """The core's converter (durations in seconds, fractions as `"3/2"`, times of
    day as `"09:30:00"`), which the schemas here describe."""
    return make_converter()


@attrs.frozen
class DecodeError(Exception):
    """`path` is where the bad value sits (`items[2].price`); `reason` a catalog key
    under `web.reason.`; `expected` the JSON type that belongs there."""

    path: str
    reason: str
    expected: str = ""


_hint_cache: dict[type, dict[str, Any]] = {}


def type_hints(cls: type) -> dict[str, Any]:
    hints = _hint_cache.get(cls)
    if hints is None:
        hints = _hint_cache[cls] = typing.get_type_hints(cls)
    return hints


def is_optional(t: Any) -> bool:
    return _is_union(t) and _NONE in typing.get_args(t)


def optional_fields(cls: type) -> frozenset[str]:
    """Fields that may be left out (they have a default)."""
    return frozenset(f.name for f in attrs.fields(cls) if f.init and f.default is not attrs.NOTHING)


def _is_union(t: Any) -> bool:
    return typing.get_origin(t) in (Union, types.UnionType)


def _without_none(t: Any) -> list[Any]:
    return [a for a in typing.get_args(t) if a is not _NONE]


class TypeSchemas:
    """Collects the named schemas a document refers to, as `components`."""

    def __init__(self) -> None:
        self.components: dict[str, dict[str, Any]] = {}
        self._names: dict[Any, str] = {}

    def ref(self, t: Any) -> dict[str, Any]:
        """`t` is an attrs class, or a generic one with its arguments (`Page[Member]`,
        named `Page_Member`)."""
        name = self._names.get(t)
        if name is None:
            name = _label(t)
            taken = {n for c, n in self._names.items() if c != t}
            if name in taken:
                module = (typing.get_origin(t) or t).__module__.rsplit(".", 1)[-1]
                name = f"{module}.{name}"
            self._names[t] = name
            self.components[name] = {}  # placeholder: recursive types refer to it
            self.components[name] = self._object(t)
        return {"$ref": f"#/components/schemas/{name}"}

    def _object(self, t: Any) -> dict[str, Any]:
        cls = typing.get_origin(t) or t
        hints = type_hints(cls)
        bound = dict(zip(getattr(cls, "__parameters__", ()), typing.get_args(t), strict=False))
        properties = {f.name: self.schema(_bind(hints[f.name], bound)) for f in attrs.fields(cls)}
        doc = _first_paragraph(cls.__doc__)
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }
        if doc:
            schema["description"] = doc
        return schema

    def input_object(self, cls: type, leave_out: Sequence[str] = ()) -> dict[str, Any]:
        """A command's body: only what the caller may send, defaults optional."""
        hints = type_hints(cls)
        optional = optional_fields(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for f in attrs.fields(cls):
            if not f.init or f.name in leave_out:
                continue
            properties[f.name] = self.input_schema(hints[f.name])
            if f.name not in optional:
                required.append(f.name)
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        if required:
            schema["required"] = required
        return schema

    def input_schema(self, t: Any) -> dict[str, Any]:
        """Like `schema`, but nested attrs values are described inline as inputs."""
        if isinstance(t, type) and attrs.has(t) and t not in _TEXT_FORMS:
            return self.input_object(t)
        return self._shape(t, self.input_schema)

    def schema(self, t: Any) -> dict[str, Any]:
        if isinstance(t, type) and attrs.has(t) and t not in _TEXT_FORMS:
            return self.ref(t)
        origin = typing.get_origin(t)
        if isinstance(origin, type) and attrs.has(origin):
            return self.ref(t)
        return self._shape(t, self.schema)

    def _shape(self, t: Any, inner: Any) -> dict[str, Any]:
        if t is Any or t is object:
            return {}
        if t is _NONE or t is None:
            return {"type": "null"}
        if _is_union(t):
            choices = [inner(a) for a in typing.get_args(t)]
            return {"anyOf": choices}
        origin = typing.get_origin(t)
        args = typing.get_args(t)
        if origin is Literal:
            return {"enum": list(args)}
        if origin in (tuple,) and args and args[-1] is not Ellipsis:
            items = [inner(a) for a in args]
            return {
                "type": "array",
                "prefixItems": items,
                "minItems": len(items),
                "maxItems": len(items),
            }
        if origin in (tuple, list, frozenset, set, Sequence, typing.Sequence):
            schema: dict[str, Any] = {"type": "array", "items": inner(args[0]) if args else {}}
            if origin in (frozenset, set):
                schema["uniqueItems"] = True
            return schema
        if origin in (dict, Mapping, typing.Mapping):
            value = inner(args[1]) if len(args) == 2 else {}
            return {"type": "object", "additionalProperties": value}
        if isinstance(t, type):
            return _leaf_schema(t)
        raise TypeError(f"no JSON schema for {t!r}")


_TEXT_FORMS: dict[type, dict[str, Any]] = {
    LocalizedText: {
        "type": "object",
        "description": "Text by language tag (`zh`, `en`, ...).",
        "additionalProperties": {"type": "string"},
    },
    Scope: {
        "type": "string",
        "description": "`community`, `station:<key>` or `club:<key>`.",
        "pattern": r"^(community|station:[^\s]+|club:[^\s]+)$",
    },
}


def _label(t: Any) -> str:
    origin = typing.get_origin(t)
    if origin is None:
        return str(getattr(t, "__name__", "Value"))
    return "_".join([_label(origin), *(_label(a) for a in typing.get_args(t))])


def _bind(hint: Any, bound: Mapping[Any, Any]) -> Any:
    """`hint` with the generic class's type variables replaced by its arguments."""
    if not bound:
        return hint
    if isinstance(hint, typing.TypeVar):
        return bound.get(hint, Any)
    args = typing.get_args(hint)
    if not args:
        return hint
    new = tuple(_bind(a, bound) for a in args)
    if _is_union(hint):
        return Union[new]  # noqa: UP007 (built from a tuple)
    origin = typing.get_origin(hint)
    return origin[new] if origin is not None else hint


def _leaf_schema(t: type) -> dict[str, Any]:
    if t in _TEXT_FORMS:
        return dict(_TEXT_FORMS[t])
    if issubclass(t, enum.Enum):
        values = [m.value for m in t]
        kind = "integer" if all(isinstance(v, int) for v in values) else "string"
        return {"type": kind, "enum": values}
    if t is bool:
        return {"type": "boolean"}
    if t is int:
        return {"type": "integer", "minimum": INT64_MIN, "maximum": INT64_MAX}
    if t is float:
        return {"type": "number"}
    if t is str:
        return {"type": "string"}
    if t is datetime:
        return {"type": "string", "format": "date-time"}
    if t is date:
        return {"type": "string", "format": "date"}
    if t is time:
        # A local time of day (opening hours): JSON Schema's `time` format needs an offset.
        return {
            "type": "string",
            "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$",
            "description": "A local time of day, `HH:MM[:SS]`.",
        }
    if t is timedelta:
        return {"type": "number", "description": "A duration in seconds."}
    if t is Fraction:
        return {"type": "string", "pattern": r"^-?\d{1,9}(/\d{1,9})?$", "examples": ["3/2"]}
    raise TypeError(f"no JSON schema for {t!r}")


def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    return " ".join(doc.strip().split("\n\n", 1)[0].split())


# --- decoding ----------------------------------------------------------------------


def decode(t: Any, value: Any, path: str = "") -> Any:
    """`value` (parsed JSON) as a `t`, or `DecodeError` naming where and why."""
    if t is Any or t is object:
        return value
    if _is_union(t):
        if value is None:
            if _NONE in typing.get_args(t):
                return None
            raise DecodeError(path, "required_value", _expected(t))
        options = _without_none(t)
        if len(options) == 1:
            return decode(options[0], value, path)
        for option in options:
            try:
                return decode(option, value, path)
            except DecodeError:
                continue
        raise DecodeError(path, "wrong_type", _expected(t))
    if value is None:
        raise DecodeError(path, "required_value", _expected(t))
    origin = typing.get_origin(t)
    args = typing.get_args(t)
    if origin is Literal:
        if value not in args:
            raise DecodeError(path, "not_allowed", _expected(t))
        return value
    if origin in (tuple, list, frozenset, set, Sequence, typing.Sequence):
        if not isinstance(value, list):
            raise DecodeError(path, "wrong_type", "array")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise DecodeError(path, "wrong_length", "array")
            pairs = enumerate(zip(args, value, strict=True))
            return tuple(decode(a, v, f"{path}[{i}]") for i, (a, v) in pairs)
        item = args[0] if args else Any
        items = [decode(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
        if origin in (frozenset, set):
            return frozenset(items)
        return tuple(items) if origin is not list else items
    if origin in (dict, Mapping, typing.Mapping):
        if not isinstance(value, dict):
            raise DecodeError(path, "wrong_type", "object")
        value_type = args[1] if len(args) == 2 else Any
        return {str(k): decode(value_type, v, _join(path, str(k))) for k, v in value.items()}
    if isinstance(t, type) and attrs.has(t) and t not in _TEXT_FORMS:
        if not isinstance(value, dict):
            raise DecodeError(path, "wrong_type", "object")
        return build(t, value, path)
    if isinstance(t, type):
        return _decode_leaf(t, value, path)
    raise TypeError(f"cannot decode {t!r}")


def build(
    cls: type, fields: Mapping[str, Any], path: str = "", ready: Mapping[str, Any] | None = None
) -> Any:
    """An instance of attrs class `cls` from raw JSON `fields` plus values already
    decoded (`ready`: from the path, the query, the route); unknown and missing
    fields refused by name. Values the class itself refuses (its own validation,
    a `HuarongError`) propagate unchanged."""
    hints = type_hints(cls)
    known = {f.name: f for f in attrs.fields(cls) if f.init}
    for name in fields:
        if name not in known:
            raise DecodeError(_join(path, name), "unknown_field")
    kwargs: dict[str, Any] = dict(ready or {})
    for name, field in known.items():
        if name in kwargs:
            continue
        if name in fields:
            kwargs[name] = decode(hints[name], fields[name], _join(path, name))
        elif field.default is attrs.NOTHING:
            raise DecodeError(_join(path, name), "missing_field", _expected(hints[name]))
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise DecodeError(path or "$", "rejected_value") from exc


def _decode_leaf(t: type, value: Any, path: str) -> Any:
    if t is LocalizedText:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise DecodeError(path, "wrong_type", "object")
        return LocalizedText(value)
    if t is Scope:
        if not isinstance(value, str):
            raise DecodeError(path, "wrong_type", "string")
        try:
            return Scope.parse(value)
        except (ValueError, TypeError) as exc:
            raise DecodeError(path, "not_allowed", "string") from exc
    if issubclass(t, enum.Enum):
        try:
            return t(value)
        except ValueError as exc:
            raise DecodeError(path, "not_allowed", _expected(t)) from exc
    if t is bool:
        if not isinstance(value, bool):
            raise DecodeError(path, "wrong_type", "boolean")
        return value
    if t is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise DecodeError(path, "wrong_type", "integer")
        if not INT64_MIN <= value <= INT64_MAX:
            raise DecodeError(path, "out_of_range", "integer")
        return value
    if t is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DecodeError(path, "wrong_type", "number")
        return float(value)
    if t is str:
        if not isinstance(value, str):
            raise DecodeError(path, "wrong_type", "string")
        return clean_text(value, path)
    if t is timedelta:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DecodeError(path, "wrong_type", "number")
        try:
            return timedelta(seconds=value)
        except OverflowError as exc:
            raise DecodeError(path, "out_of_range", "number") from exc
    if not isinstance(value, str):
        raise DecodeError(path, "wrong_type", "string")
    return _parse_text(t, clean_text(value, path), path)


_D = typing.TypeVar("_D", date, datetime)


def _plausible(value: _D, path: str) -> _D:
    """A community's dates lie between 1900 and 9000: anything else is a typo, and
    far years overflow time-zone arithmetic."""
    if not 1900 <= value.year <= 9000:
        raise DecodeError(path, "out_of_range", "date")
    return value


def clean_text(text: str, path: str) -> str:
    """Text that every database and page can hold: no NUL, no lone surrogate."""
    if "\x00" in text:
        raise DecodeError(path, "bad_character", "string")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DecodeError(path, "bad_character", "string") from exc
    return text


def _parse_text(t: type, text: str, path: str) -> Any:
    try:
        if t is datetime:
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                raise DecodeError(path, "needs_time_zone", "date-time")
            return _plausible(parsed, path)
        if t is date:
            if len(text) != 10:
                raise ValueError(text)
            return _plausible(date.fromisoformat(text), path)
        if t is time:
            return time.fromisoformat(text)
        if t is Fraction:
            if not _FRACTION.fullmatch(text):
                raise ValueError(text)
            return Fraction(text)
    except (ValueError, ZeroDivisionError) as exc:
        raise DecodeError(path, "bad_format", _expected(t)) from exc
    raise TypeError(f"cannot decode {t!r}")


def from_text(t: Any, texts: Sequence[str], path: str) -> Any:
    """Query-string or path values (always text) as a `t`: numbers and booleans
    spelled as JSON spells them, lists as repeated parameters or commas; an empty
    value (`?status=`) is `None` where the field may be `None`."""
    if _is_union(t) and texts == [""] and _NONE in typing.get_args(t):
        return None
    if _is_union(t):
        options = _without_none(t)
        if len(options) == 1:
            return from_text(options[0], texts, path)
        for option in options:
            try:
                return from_text(option, texts, path)
            except DecodeError:
                continue
        raise DecodeError(path, "wrong_type", _expected(t))
    origin = typing.get_origin(t)
    if origin in (tuple, list, frozenset, set):
        args = typing.get_args(t)
        if origin is tuple and args and args[-1] is not Ellipsis:
            raise DecodeError(path, "not_in_query")
        item = args[0] if args else str
        parts = [p for text in texts for p in text.split(",") if p != ""]
        values = [from_text(item, [p], f"{path}[{i}]") for i, p in enumerate(parts)]
        if origin in (frozenset, set):
            return frozenset(values)
        return tuple(values) if origin is tuple else values
    if len(texts) != 1:
        raise DecodeError(path, "repeated_parameter")
    text = texts[0]
    if t is int:
        if not _INT.fullmatch(text):
            raise DecodeError(path, "wrong_type", "integer")
        return decode(int, int(text), path)
    if t is bool:
        if text not in ("true", "false"):
            raise DecodeError(path, "wrong_type", "boolean")
        return text == "true"
    if t is float or t is timedelta:
        try:
            number = float(text)
        except ValueError as exc:
            raise DecodeError(path, "wrong_type", "number") from exc
        return decode(t, number, path)
    if t is str or t is Any:
        return clean_text(text, path)
    if isinstance(t, type) and (issubclass(t, enum.Enum) or t in _TEXT_FORMS):
        return decode(t, text, path)
    if t in (datetime, date, time, Fraction):
        return _parse_text(t, text, path)
    raise DecodeError(path, "not_in_query")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _expected(t: Any) -> str:
    if _is_union(t):
        return " | ".join(_expected(a) for a in typing.get_args(t))
    origin = typing.get_origin(t)
    if origin is not None:
        return "object" if origin in (dict, Mapping) else "array"
    if t is _NONE:
        return "null"
    if isinstance(t, type):
        return str(_leaf_or_object(t))
    return "value"


def _leaf_or_object(t: type) -> str:
    if attrs.has(t) and t not in _TEXT_FORMS:
        return "object"
    try:
        schema = _leaf_schema(t)
    except TypeError:
        return t.__name__
    if "enum" in schema:
        return "|".join(str(v) for v in schema["enum"])
    return str(schema.get("format", schema.get("type", "value")))
