"""`huarong_core.json_text`: orjson's speed, the standard library's answers."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huarong_core.json_text import to_json, to_json_text

_STANDARD = {"ensure_ascii": False, "separators": (",", ":")}

_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text()
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_values, st.booleans())
def test_the_same_bytes_as_the_standard_library(value: Any, sort_keys: bool) -> None:
    expected = json.dumps(value, sort_keys=sort_keys, **_STANDARD).encode()  # type: ignore[arg-type]
    assert to_json(value, sort_keys=sort_keys) == expected


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_read_back_as_they_were(value: float) -> None:
    assert json.loads(to_json({"x": value})) == {"x": value}


def test_what_orjson_refuses_the_standard_library_writes() -> None:
    big = {"n": 2**70, "m": -(2**80)}
    assert (
        to_json(big, sort_keys=True)
        == b'{"m":-1208925819614629174706176,"n":1180591620717411303424}'
    )
    assert to_json_text({1: "一", "b": [2**64]}) == '{"1":"一","b":[18446744073709551616]}'


def test_what_json_cannot_hold_is_still_refused() -> None:
    for value in (datetime(2026, 7, 1, tzinfo=UTC), {1, 2}, object()):
        with pytest.raises(TypeError):
            to_json({"value": value})


def test_not_a_number_is_written_as_null() -> None:
    assert to_json([math.nan, math.inf]) == b"[null,null]"
