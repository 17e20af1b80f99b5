"""JSON written fast: orjson where it can, the standard library where it cannot.

Every command's outbox events, a chat reply's delivery record, a web answer
and a Bot API request are encoded on the event loop, and the standard
library's encoder took ≈ 10 µs for a check-in's stored result where orjson
takes 1. The output is the same compact UTF-8 JSON either way (non-ASCII kept,
keys in insertion or sorted order): what orjson refuses (integers past 64
bits, types it does not know, datetimes and dataclasses, which the standard
library refuses too) falls back to the standard library, so nothing that
encoded before stops encoding, and nothing that failed now passes. One
difference stays: a float NaN or infinity, not JSON at all, is written as
`null` rather than as `NaN`.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["to_json", "to_json_text"]

_PLAIN = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
_SORTED = _PLAIN | orjson.OPT_SORT_KEYS
_STANDARD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
_STANDARD_SORTED = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def to_json(value: Any, *, sort_keys: bool = False) -> bytes:
    """`value` as compact UTF-8 JSON; `TypeError` for what JSON cannot hold."""
    try:
        return orjson.dumps(value, option=_SORTED if sort_keys else _PLAIN)
    except TypeError:  # orjson.JSONEncodeError: let the standard library decide
        return (_STANDARD_SORTED if sort_keys else _STANDARD).encode(value).encode()


def to_json_text(value: Any, *, sort_keys: bool = False) -> str:
    """`to_json` as text (for a database column)."""
    return to_json(value, sort_keys=sort_keys).decode()
