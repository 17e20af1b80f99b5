"""Text that a community writes in several languages (a station's name, a category)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from huarong_core.i18n import FALLBACK_LOCALE


def _to_pairs(
    value: Mapping[str, str] | tuple[tuple[str, str], ...],
) -> tuple[tuple[str, str], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted((str(k), str(v)) for k, v in items))


@attrs.frozen
class LocalizedText:
    """Per-locale strings; `get` falls back to English, then to any text there is."""

    values: tuple[tuple[str, str], ...] = attrs.field(converter=_to_pairs)

    @classmethod
    def plain(cls, text: str) -> LocalizedText:
        """One text for every locale (a company's own name)."""
        return cls({"*": text})

    def get(self, locale: str) -> str:
        table = dict(self.values)
        for candidate in (locale, "*", FALLBACK_LOCALE):
            if candidate in table:
                return table[candidate]
        return self.values[0][1] if self.values else ""

    def as_dict(self) -> dict[str, str]:
        return dict(self.values)
