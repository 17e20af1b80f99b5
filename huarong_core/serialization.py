"""The one cattrs converter for values crossing an edge (outbox, replay, JSON).

Built on cattrs' JSON preset (datetimes as ISO text, sets as lists), plus
the few domain values that have a natural text or mapping form.
"""

from __future__ import annotations

import cattrs
from cattrs.preconf.json import make_converter as make_json_converter

from huarong_core.domain.roles import Scope
from huarong_core.domain.text import LocalizedText


def make_converter() -> cattrs.Converter:
    converter = make_json_converter()
    converter.register_unstructure_hook(LocalizedText, LocalizedText.as_dict)
    converter.register_structure_hook(LocalizedText, lambda v, _: LocalizedText(v))
    converter.register_unstructure_hook(Scope, str)
    converter.register_structure_hook(Scope, lambda v, _: Scope.parse(v))
    return converter


converter = make_converter()
