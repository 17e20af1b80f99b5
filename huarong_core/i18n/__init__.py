"""User-facing text: gettext catalogs in zh_CN and en, keyed by message ids.

Catalogs are the `.po` files beside this module, read with Babel at first
use (no compile step, so an edited catalog works from a checkout). Message
ids are stable keys (`error.not_found`); text uses `{name}` placeholders.
A key missing from a locale falls back to English, then to the key itself,
so a gap shows up as text a tester notices rather than as a crash.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from babel.messages.pofile import read_po

if TYPE_CHECKING:
    from huarong_core.errors import HuarongError, Problem

SUPPORTED_LOCALES: tuple[str, ...] = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
FALLBACK_LOCALE = "en"
CATALOG_DIR = Path(__file__).with_name("locales")

log = structlog.get_logger(__name__)


def normalize_locale(tag: str) -> str | None:
    """Map a language tag (`zh-CN`, `zh_Hans`, `en-US`, `zh_CN.UTF-8`) to a supported locale."""
    base = tag.strip().split(".", 1)[0].replace("-", "_").lower()
    if not base:
        return None
    language = base.split("_", 1)[0]
    if language == "zh":
        return "zh_CN"
    if language == "en":
        return "en"
    return None


def catalog_files(locale: str) -> tuple[Path, ...]:
    """The locale's `.po` files: `huarong.po`, then one per area (`chat_points.po`, ...).

    One file per area lets each part of the product keep its messages beside
    the others without edits colliding; together they form one catalog, and a
    key may be defined in one file only (a test checks).
    """
    folder = CATALOG_DIR / locale / "LC_MESSAGES"
    return tuple(sorted(folder.glob("*.po"), key=lambda path: (path.name != "huarong.po", path)))


@functools.cache
def _catalog(locale: str) -> Mapping[str, str]:
    merged: dict[str, str] = {}
    for path in catalog_files(locale):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        merged.update(
            (str(message.id), str(message.string))
            for message in catalog
            if message.id and message.string and not message.fuzzy
        )
    return merged


def catalog_keys(locale: str) -> frozenset[str]:
    """Every key the locale's catalog translates (for completeness tests)."""
    return frozenset(_catalog(locale))


def has_key(key: str, locale: str = FALLBACK_LOCALE) -> bool:
    return key in _catalog(locale)


def translate(key: str, locale: str, /, **params: Any) -> str:
    """The text for `key` in `locale`, filled with `params`."""
    text = _catalog(locale).get(key) if locale in SUPPORTED_LOCALES else None
    if text is None:
        text = _catalog(FALLBACK_LOCALE).get(key)
        if text is None:
            log.warning("i18n.missing_key", key=key, locale=locale)
            return key
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError) as exc:
        log.warning("i18n.bad_params", key=key, locale=locale, error=repr(exc))
        return text


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render_params(
    params: Mapping[str, Any], translated: Mapping[str, str], locale: str
) -> dict[str, str]:
    """Turn raw parameters into text, translating those that are catalog keys."""
    out: dict[str, str] = {}
    for name, value in params.items():
        prefix = translated.get(name)
        out[name] = (
            translate(f"{prefix}.{value}", locale) if prefix is not None else _param_text(value)
        )
    return out


def render_problem(problem: Problem, locale: str) -> str:
    """What is wrong at one place in a file, without the place."""
    return translate(
        problem.key, locale, **render_params(problem.params, problem.translated, locale)
    )


def render_error(error: HuarongError, locale: str) -> str:
    """One error as text: its sentence, then one line per listed problem."""
    params = error.params()
    problems = params.pop("problems", None)
    head = translate(error.key, locale, **render_params(params, error.translated, locale))
    if not problems:
        return head
    lines = [head]
    for problem in getattr(error, "problems", ()):
        detail = render_problem(problem, locale)
        lines.append(translate("error.problem_line", locale, where=problem.where, detail=detail))
    return "\n".join(lines)
