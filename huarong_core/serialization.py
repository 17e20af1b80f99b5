"""The one cattrs converter for values crossing an edge (outbox, replay, JSON).

Built on cattrs' JSON preset (datetimes as ISO text, sets as lists), plus
the few domain values that have a natural text or mapping form.
"""

from __future__ import annotations

from datetime import time, timedelta
from fractions import Fraction

import cattrs
from cattrs.preconf.json import make_converter as make_json_converter

from huarong_core.domain.roles import Scope
from huarong_core.domain.text import LocalizedText


def make_converter() -> cattrs.Converter:
    """Durations are seconds, fractions `"3/2"`, times of day `"09:30:00"`: JSON has
    no form of its own for them, and a stored answer (a replayed delivery) must
    come back as the value it was."""
    converter = make_json_converter()
    converter.register_unstructure_hook(timedelta, lambda v: v.total_seconds())
    converter.register_structure_hook(timedelta, lambda v, _: timedelta(seconds=v))
    converter.register_unstructure_hook(Fraction, str)
    converter.register_structure_hook(Fraction, lambda v, _: Fraction(v))
    converter.register_unstructure_hook(time, lambda v: v.isoformat())
    converter.register_structure_hook(time, lambda v, _: time.fromisoformat(v))
    converter.register_unstructure_hook(LocalizedText, LocalizedText.as_dict)
    converter.register_structure_hook(LocalizedText, lambda v, _: LocalizedText(v))
    converter.register_unstructure_hook(Scope, str)
    converter.register_structure_hook(Scope, lambda v, _: Scope.parse(v))
    return converter


converter = make_converter()
