"""The catalogs: complete in both languages, and every key the code uses exists."""

from __future__ import annotations

import ast
import gc
import importlib
import pkgutil
import re
import string
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

import pytest
from structlog.testing import capture_logs

import huarong_core
from huarong_core import i18n
from huarong_core.domain.gatherings import EventType
from huarong_core.domain.members import MemberStatus
from huarong_core.domain.roles import Permission, Role
from huarong_core.errors import ConfigError, HuarongError, ImportRejected, Problem
from huarong_core.i18n import (
    DEFAULT_LOCALE,
    FALLBACK_LOCALE,
    SUPPORTED_LOCALES,
    catalog_files,
    catalog_keys,
    has_key,
    normalize_locale,
    render_error,
    render_params,
    translate,
)

CORE = Path(huarong_core.__file__).resolve().parent
KEY_PREFIXES = (
    "error",
    "config",
    "import",
    "cli",
    "reason",
    "url_reason",
    "field",
    "entity",
    "permission",
    "status",
    "role",
    "type",
    "kind",
    "chat",
)
KEY_LITERAL = re.compile(rf"(?:{'|'.join(KEY_PREFIXES)})(?:\.[a-z0-9_]+)+")
# Dotted names that are not catalog keys: audit actions, log events, event kinds.
NOT_MESSAGES = frozenset({"audit", "debug", "info", "warning", "error", "exception", "critical"})


def all_error_classes() -> list[type[HuarongError]]:
    for module in pkgutil.walk_packages(huarong_core.__path__, "huarong_core."):
        importlib.import_module(module.name)
    # attrs rebuilds each slotted class; the first build lingers as a subclass
    # until the garbage collector runs, and would be found twice.
    gc.collect()
    found: set[type[HuarongError]] = set()
    pending: list[type[HuarongError]] = [HuarongError]
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def in_both(key: str) -> bool:
    return all(has_key(key, locale) for locale in SUPPORTED_LOCALES)


# --- the catalogs themselves --------------------------------------------------


def test_both_catalogs_have_exactly_the_same_keys() -> None:
    english = catalog_keys("en")
    chinese = catalog_keys("zh_CN")
    assert english - chinese == set(), "missing in zh_CN"
    assert chinese - english == set(), "missing in en"
    assert len(english) > 100


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_no_message_id_is_written_twice(locale: str) -> None:
    ids = [
        key
        for path in catalog_files(locale)
        for key in re.findall(
            r'^msgid "(.+)"$', path.read_text(encoding="utf-8"), flags=re.MULTILINE
        )
    ]
    repeated = sorted({key for key in ids if ids.count(key) > 1})
    assert repeated == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_entry_is_translated(locale: str) -> None:
    ids = {
        key
        for path in catalog_files(locale)
        for key in re.findall(
            r'^msgid "(.+)"$', path.read_text(encoding="utf-8"), flags=re.MULTILINE
        )
    }
    assert ids == set(catalog_keys(locale)), "an entry is empty or fuzzy"


def test_same_placeholders_in_both_languages() -> None:
    different = {
        key: (placeholders(translate(key, "en")), placeholders(translate(key, "zh_CN")))
        for key in catalog_keys("en")
        if placeholders(i18n._catalog("en")[key]) != placeholders(i18n._catalog("zh_CN")[key])
    }
    assert different == {}


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_message_is_a_valid_format_string(locale: str) -> None:
    for key, text in i18n._catalog(locale).items():
        fields = placeholders(text)
        assert all(name.isidentifier() for name in fields), (key, fields)
        assert text.format(**dict.fromkeys(fields, "x")), key


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_keys_are_dotted_names(locale: str) -> None:
    for key in catalog_keys(locale):
        assert re.fullmatch(r"[a-z_]+(\.[a-z0-9_]+)+", key), key


# --- every key the code uses exists -------------------------------------------


def _sources() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(CORE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _text(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


@cache
def literal_keys() -> Mapping[str, str]:
    """String literals shaped like catalog keys, with where they were found."""
    found: dict[str, str] = {}
    for path, tree in _sources():
        # Node ids of this tree only: once a tree is freed, a later tree's nodes may
        # reuse its ids (a key was once skipped that way, now and then).
        excluded: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _callee(node) in NOT_MESSAGES and node.args:
                excluded.add(id(node.args[0]))
            if isinstance(node, ast.ClassDef):
                for statement in node.body:
                    if isinstance(statement, ast.Assign) and [
                        ast.unparse(t) for t in statement.targets
                    ] == ["kind"]:
                        excluded.add(id(statement.value))
                    # `translated = {"argument": "chat.arg"}` maps to key prefixes.
                    if (
                        isinstance(statement, ast.AnnAssign)
                        and ast.unparse(statement.target) == "translated"
                        and isinstance(statement.value, ast.Dict)
                    ):
                        excluded.update(id(v) for v in statement.value.values)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in excluded
                and KEY_LITERAL.fullmatch(node.value)
            ):
                found.setdefault(node.value, f"{path.relative_to(CORE)}:{node.lineno}")
    return found


@cache
def translated_values() -> Mapping[str, str]:
    """Catalog keys built from parameters: `InvalidValue(reason="empty")` means `reason.empty`."""
    errors = {cls.__name__: cls for cls in all_error_classes()}
    field_functions = {
        node.name
        for _, tree in _sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.args.args
        and node.args.args[0].arg == "field"
    }
    found: dict[str, str] = {}
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _callee(node)
            where = f"{path.relative_to(CORE)}:{node.lineno}"
            if name in errors:
                for keyword in node.keywords:
                    prefix = errors[name].translated.get(keyword.arg or "")
                    value = _text(keyword.value)
                    if prefix is not None and value is not None:
                        found.setdefault(f"{prefix}.{value}", where)
            if name in field_functions and node.args and (value := _text(node.args[0])):
                found.setdefault(f"field.{value}", where)
            if name in {"_WrongType", "_strict"} and len(node.args) >= 2:
                label = _text(node.args[0]) if name == "_WrongType" else _text(node.args[1])
                if label is not None:
                    found.setdefault(f"type.{label}", where)
    return found


def test_the_scans_find_what_they_should() -> None:
    keys = literal_keys()
    assert {"error.problem_line", "config.unknown_key", "import.no_header", "cli.page"} <= set(keys)
    assert "role.grant" not in keys, "audit actions are not messages"
    assert "role.granted" not in keys, "event kinds are not messages"
    values = translated_values()
    for expected in (
        "reason.bad_key",
        "reason.not_yes_no",
        "url_reason.no_scheme",
        "url_reason.postgres_schema",
        "entity.role_grant",
        "field.display_name",
        "field.has_party_branch",
        "type.floor",
        "type.table",
    ):
        assert expected in values, expected


def test_every_key_literal_in_the_code_is_in_both_catalogs() -> None:
    missing = {key: where for key, where in literal_keys().items() if not in_both(key)}
    assert missing == {}


def test_every_translated_parameter_value_in_the_code_is_in_both_catalogs() -> None:
    missing = {key: where for key, where in translated_values().items() if not in_both(key)}
    assert missing == {}


def test_every_url_reason_is_in_both_catalogs() -> None:
    reasons = {k for k in translated_values() if k.startswith("url_reason.")}
    assert reasons == {
        "url_reason.no_scheme",
        "url_reason.unknown_scheme",
        "url_reason.sqlite_host",
        "url_reason.sqlite_query",
        "url_reason.sqlite_directory",
        "url_reason.postgres_host",
        "url_reason.postgres_port",
        "url_reason.postgres_schema",
    }
    assert all(in_both(reason) for reason in reasons)


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda cls: cls.__name__)
def test_every_error_key_is_in_both_catalogs(cls: type[HuarongError]) -> None:
    assert in_both(cls.key), cls.key


@pytest.mark.parametrize(
    ("prefix", "values"),
    [
        ("permission", [p.value for p in Permission]),
        ("status", [s.value for s in MemberStatus]),
        ("role", [r.value for r in Role]),
        (
            "kind",
            ["community", "categories", "stations", "organizations", "members", "roles"],
        ),
        # A gathering's own tag in the portal (singular; the calendar's filter is plural).
        ("portal.gathering.kind", ["session", *[e.value for e in EventType]]),
    ],
)
def test_enumerated_values_are_in_both_catalogs(prefix: str, values: list[str]) -> None:
    missing = [f"{prefix}.{value}" for value in values if not in_both(f"{prefix}.{value}")]
    assert missing == []


def test_every_translated_prefix_is_a_catalog_namespace() -> None:
    prefixes = {prefix for cls in all_error_classes() for prefix in cls.translated.values()}
    assert prefixes
    namespaces = {
        key.rsplit(".", depth)[0]
        for key in catalog_keys("en")
        for depth in range(1, key.count(".") + 1)
    }
    assert prefixes <= namespaces


# --- locales ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        ("zh", "zh_CN"),
        ("zh-CN", "zh_CN"),
        ("zh_CN", "zh_CN"),
        ("zh_Hans", "zh_CN"),
        ("zh-Hans-CN", "zh_CN"),
        ("zh_CN.UTF-8", "zh_CN"),
        ("ZH-cn", "zh_CN"),
        ("en", "en"),
        ("en-US", "en"),
        ("en_GB", "en"),
        ("en_US.UTF-8", "en"),
        (" en ", "en"),
        ("fr", None),
        ("fr_FR.UTF-8", None),
        ("", None),
        ("   ", None),
        ("C", None),
        ("POSIX", None),
        ("eng", None),
    ],
)
def test_normalize_locale(tag: str, locale: str | None) -> None:
    assert normalize_locale(tag) == locale


def test_supported_locales() -> None:
    assert SUPPORTED_LOCALES == ("zh_CN", "en")
    assert DEFAULT_LOCALE == "zh_CN"
    assert FALLBACK_LOCALE == "en"


# --- translate ----------------------------------------------------------------


def test_translate_fills_placeholders_in_each_language() -> None:
    assert translate("cli.page", "en", shown=3, total=10) == "Showing 3 of 10."
    chinese = translate("cli.page", "zh_CN", shown=3, total=10)
    assert "3" in chinese
    assert "10" in chinese
    assert chinese != translate("cli.page", "en", shown=3, total=10)


def test_unsupported_locale_falls_back_to_english() -> None:
    assert translate("cli.yes", "fr") == translate("cli.yes", "en") == "yes"


def test_missing_translation_falls_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    catalogs = {"en": {"demo.only_en": "Hello {who}"}, "zh_CN": {"demo.both": "你好"}}
    monkeypatch.setattr(i18n, "_catalog", lambda locale: catalogs[locale])
    assert translate("demo.only_en", "zh_CN", who="王芳") == "Hello 王芳"
    assert translate("demo.both", "zh_CN") == "你好"


def test_missing_key_falls_back_to_the_key_and_is_logged() -> None:
    with capture_logs() as logs:
        assert translate("no.such.key", "zh_CN") == "no.such.key"
        assert translate("no.such.key", "en", value=1) == "no.such.key"
    assert [entry["event"] for entry in logs] == ["i18n.missing_key", "i18n.missing_key"]
    assert logs[0]["key"] == "no.such.key"


def test_missing_parameters_give_the_raw_text_and_a_warning() -> None:
    with capture_logs() as logs:
        text = translate("cli.page", "en", shown=1)
    assert text == i18n._catalog("en")["cli.page"]
    assert logs[0]["event"] == "i18n.bad_params"


def test_extra_parameters_are_ignored() -> None:
    assert translate("cli.yes", "en", unused="x") == "yes"


def test_render_params_translates_only_the_named_ones() -> None:
    rendered = render_params(
        {"field": "name", "reason": "empty", "value": "x", "flag": True, "count": 3},
        {"field": "field", "reason": "reason"},
        "en",
    )
    assert rendered == {
        "field": translate("field.name", "en"),
        "reason": translate("reason.empty", "en"),
        "value": "x",
        "flag": "yes",
        "count": "3",
    }


# --- render_error -------------------------------------------------------------


PROBLEMS = (
    Problem("members[0].nickname", "config.unknown_key", {"key": "nickname"}),
    Problem(
        "organizations[0].has_party_branch",
        "config.wrong_type",
        {"expected": "boolean", "got": "str"},
        {"expected": "type"},
    ),
    Problem("roles[1].member", "config.unknown_member", {"value": "secretry"}),
)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_render_config_error_lists_one_line_per_problem(locale: str) -> None:
    text = render_error(ConfigError(file="broken.toml", problems=PROBLEMS), locale)
    lines = text.splitlines()
    assert lines[0] == translate("error.config", locale, file="broken.toml")
    assert len(lines) == 1 + len(PROBLEMS)
    for line, problem in zip(lines[1:], PROBLEMS, strict=True):
        assert line.startswith(f"  - {problem.where}")
    assert "nickname" in lines[1]
    assert translate("type.boolean", locale) in lines[2]
    assert "type.boolean" not in text
    assert "secretry" in lines[3]
    assert "{" not in text


def test_render_config_error_differs_by_language() -> None:
    error = ConfigError(file="broken.toml", problems=PROBLEMS)
    english = render_error(error, "en")
    assert english.splitlines()[1] == "  - members[0].nickname: unknown key “nickname”"
    assert render_error(error, "zh_CN") != english
    assert str(error) == english


def test_render_problem_from_a_core_error_translates_its_parameters() -> None:
    from huarong_core.errors import InvalidValue

    problem = Problem.from_error("line 3", InvalidValue(field="name", value="", reason="empty"))
    error = ImportRejected(file="people.csv", rows=5, problems=(problem,))
    for locale in SUPPORTED_LOCALES:
        text = render_error(error, locale)
        assert text.splitlines()[1].startswith("  - line 3")
        assert translate("reason.empty", locale) in text
        assert "reason.empty" not in text
        assert "field.name" not in text


def test_render_error_without_problems_is_one_line() -> None:
    error = ConfigError(file="x.toml", problems=())
    assert render_error(error, "en") == translate("error.config", "en", file="x.toml")
