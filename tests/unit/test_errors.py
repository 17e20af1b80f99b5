"""Every error: renders in both languages, survives storage (replay), and can be found by name."""

from __future__ import annotations

import gc
import importlib
import json
import pkgutil
import string
from typing import Any, cast

import attrs
import pytest

import huarong_core
from huarong_core.errors import (
    ConfigError,
    HuarongError,
    ImportRejected,
    InvalidValue,
    Problem,
    error_class,
)
from huarong_core.i18n import SUPPORTED_LOCALES, render_error, translate
from huarong_core.serialization import converter


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


def has_fields(cls: type[HuarongError]) -> bool:
    """`attrs.has` without its type narrowing, which would hide that these are errors."""
    return attrs.has(cls)


def fields_of(cls: type[HuarongError]) -> tuple[attrs.Attribute[Any], ...]:
    if not has_fields(cls):
        return ()
    return tuple(attrs.fields(cast("type[attrs.AttrsInstance]", cls)))


ERRORS = all_error_classes()
ATTRS_ERRORS = [cls for cls in ERRORS if has_fields(cls)]
PLAIN_ERRORS = [cls for cls in ERRORS if not has_fields(cls)]

PROBLEMS = (
    Problem("members[0].nickname", "config.unknown_key", {"key": "nickname"}),
    Problem(
        "stations[1].floor",
        "config.wrong_type",
        {"expected": "floor", "got": "bool"},
        {"expected": "type"},
    ),
)

# Plausible values, as the core would raise them. Parameters that are catalog
# keys themselves (`translated`) must be real values, so every class that has
# such parameters needs an entry here (see test_samples_cover_translated_errors).
SAMPLES: dict[str, dict[str, Any]] = {
    "InvalidValue": {"field": "display_name", "value": "", "reason": "empty"},
    "NotFound": {"entity": "member", "ref": "#7"},
    "AlreadyExists": {"entity": "organization", "ref": "新华保险"},
    "DuplicateIdentity": {"platform": "telegram", "external_id": "4242", "member_id": 7},
    "PermissionDenied": {"permission": "manage_members", "scope": "station:huaying"},
    "MemberInactive": {"member_id": 7, "status": "suspended"},
    "CommunityRequired": {"choices": "huarong, wanda"},
    "ConfigError": {"file": "community.toml", "problems": PROBLEMS},
    "ImportRejected": {
        "file": "members.csv",
        "rows": 12,
        "problems": (
            Problem.from_error("line 3", InvalidValue(field="name", value="", reason="empty")),
            Problem("line 5", "import.unknown_column", {"value": "颜色"}),
        ),
    },
    "InvalidDatabaseURL": {"url": "mysql://root:***@localhost/huarong", "reason": "unknown_scheme"},
    "DatabaseUnreachable": {"url": "postgresql://u:***@db/huarong", "detail": "connection refused"},
    "SchemaTooNew": {"found": 9, "supported": 1},
    "SchemaOutdated": {"found": 1, "required": 2},
    "DatabaseBusy": {"detail": "database is locked"},
    "ConstraintViolation": {"detail": "UNIQUE constraint failed: members.key"},
    "TransientConflict": {"detail": "deadlock detected"},
    "InsufficientPoints": {"member_id": 7, "needed": 60, "balance": 45},
    "OutOfStock": {"item": "tea_cup", "wanted": 2, "stock": 1},
    "ItemUnavailable": {"item": "tea_cup"},
    "RedemptionLimitReached": {"item": "tea_cup", "limit": 1, "period": "month"},
    "InvalidTransition": {
        "entity": "redemption",
        "ref": "#4",
        "state": "fulfilled",
        "wanted": "cancelled",
    },
    "AwardSkipped": {"rule": "pioneer_recognition", "reason": "cap_year"},
    "AlreadyInClub": {"club": "tea_art", "status": "pending"},
    "VenueUnavailable": {"venue": "hall_29f", "conflicts": "2026-12-03 19:00, 2026-12-17 19:00"},
    "GatheringNotOpen": {"gathering": "#12", "reason": "cancelled"},
    "CheckInRefused": {"gathering": "#12", "reason": "wrong_code"},
    "CopyUnavailable": {"copy": "RR-0001", "reason": "held_for_other"},
    "CopyNotOnLoan": {"copy": "RR-0002", "status": "available"},
    "LoanLimitReached": {"member_id": 7, "limit": 3},
    "RenewalRefused": {"copy": "RR-0001", "reason": "book_on_hold"},
    "HoldRefused": {"book": "红岩", "reason": "copy_available"},
    "AlreadyVoted": {"contest": "2026 红色悦读优秀读后感", "member_id": 7},
    "VotingClosed": {"contest": "2026 红色悦读优秀读后感", "reason": "closed"},
    "ShiftNotOpen": {"shift": "#12", "reason": "full"},
    "AlreadySignedUp": {"shift": "#12", "member_id": 7},
    "NotAVolunteer": {"member_id": 7},
    "AlreadyVolunteer": {"member_id": 7},
    "HoursAlreadyConfirmed": {"shift": "#12", "member_id": 7, "hours": "2.5"},
    "NotTheRequester": {"request": "#12"},
    "InvalidAnswer": {
        "field": "phone",
        "value": "12345",
        "reason": "bad_phone",
        "label": "联系电话",
        "labels": {"zh_CN": "联系电话", "en": "Phone"},
    },
    "AidCaseAccessDenied": {"case_id": 3},
    "WrongCheckInCode": {"gathering_id": 12},
    "WrongCheckpointCode": {"gathering_id": 12, "team_id": 3},
    "WrongLinkCode": {"member_id": 7},
    "LinkCodeExpired": {"member_id": 7},
    "LinkRefused": {"reason": "too_many_attempts"},
    "SignInRefused": {"reason": "too_many_attempts"},
    "WrongSignInCode": {"client": "web:5f2b9c0e4d1a7b3c6e8f0a12"},
    "SignInCodeExpired": {"client": "web:5f2b9c0e4d1a7b3c6e8f0a12"},
    "InvalidApiToken": {"reason": "revoked"},
    # --- chat input ---
    "MissingArgument": {"argument": "member"},
    "BadArgument": {"argument": "rating", "value": "九", "reason": "not_a_number"},
    "AmbiguousArgument": {"argument": "club", "value": "茶", "choices": "茶艺社, 茶话会"},
    "TooManyArguments": {"extra": "extra words"},
    "GroupOnly": {"command": "bind"},
}


def _fallback(field: attrs.Attribute[Any]) -> Any:
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    if kind == "int":
        return 3
    if "tuple" in str(kind):
        return ()
    return "sample"


def make(cls: type[HuarongError]) -> HuarongError:
    if not has_fields(cls):
        return cls()
    values = SAMPLES.get(cls.__name__)
    if values is None:
        values = {field.name: _fallback(field) for field in fields_of(cls)}
    made: HuarongError = cls(**values)
    return made


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_the_walk_finds_the_errors() -> None:
    names = {cls.__name__ for cls in ERRORS}
    assert {"HuarongError", "InvalidValue", "ConfigError", "StorageError", "MissingDriver"} <= names
    assert len(ATTRS_ERRORS) >= 15


def test_samples_cover_translated_errors() -> None:
    needing = {cls.__name__ for cls in ATTRS_ERRORS if cls.translated or fields_of(cls)}
    assert needing - set(SAMPLES) == set(), "add plausible sample values for these errors"
    assert set(SAMPLES) <= {cls.__name__ for cls in ATTRS_ERRORS}


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_renders_without_placeholders_or_raw_keys(cls: type[HuarongError], locale: str) -> None:
    error = make(cls)
    text = render_error(error, locale)
    assert text
    assert "{" not in text
    assert "}" not in text
    assert text.splitlines()[0] != cls.key
    for prefix in cls.translated.values():
        assert f"{prefix}." not in text, text
    assert "type." not in text


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_message_placeholders_are_error_fields(cls: type[HuarongError], locale: str) -> None:
    fields = {field.name for field in fields_of(cls)}
    assert placeholders(translate(cls.key, locale)) <= fields


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_languages_differ(cls: type[HuarongError]) -> None:
    error = make(cls)
    assert render_error(error, "zh_CN") != render_error(error, "en")


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_str_is_the_english_rendering(cls: type[HuarongError]) -> None:
    error = make(cls)
    assert str(error) == render_error(error, "en")


def test_translated_parameters_come_out_in_the_reader_language() -> None:
    error = make(InvalidValue)
    for locale in SUPPORTED_LOCALES:
        text = render_error(error, locale)
        assert translate("field.display_name", locale) in text
        assert translate("reason.empty", locale) in text


def test_problems_are_listed_one_per_line() -> None:
    error = make(ImportRejected)
    assert isinstance(error, ImportRejected)
    for locale in SUPPORTED_LOCALES:
        lines = render_error(error, locale).splitlines()
        assert len(lines) == 1 + len(error.problems)
        assert lines[1].startswith("  - line 3")
        assert lines[2].startswith("  - line 5")


# --- stored and replayed ------------------------------------------------------


@pytest.mark.parametrize("cls", ATTRS_ERRORS, ids=lambda cls: cls.__name__)
def test_round_trip_through_the_converter(cls: type[HuarongError]) -> None:
    error = make(cls)
    stored = json.loads(json.dumps(converter.unstructure(error.params())))
    rebuilt = converter.structure(stored, cls)
    assert type(rebuilt) is cls
    assert rebuilt.params() == error.params()
    assert str(rebuilt) == str(error)
    for locale in SUPPORTED_LOCALES:
        assert render_error(rebuilt, locale) == render_error(error, locale)


def test_round_trip_keeps_problem_translation_hints() -> None:
    error = make(ConfigError)
    stored = json.loads(json.dumps(converter.unstructure(error.params())))
    rebuilt = converter.structure(stored, ConfigError)
    assert rebuilt.problems == PROBLEMS
    assert rebuilt.problems[1].translated == {"expected": "type"}


def test_params_are_plain_data() -> None:
    error = make(ConfigError)
    params = error.params()
    assert params["file"] == "community.toml"
    assert params["problems"][0] == {
        "where": "members[0].nickname",
        "key": "config.unknown_key",
        "params": {"key": "nickname"},
        "translated": {},
    }


@pytest.mark.parametrize("cls", PLAIN_ERRORS, ids=lambda cls: cls.__name__)
def test_errors_without_fields_have_no_params(cls: type[HuarongError]) -> None:
    assert make(cls).params() == {}


def test_problem_from_error_keeps_key_params_and_hints() -> None:
    problem = Problem.from_error("roles[2]", make(InvalidValue))
    assert problem == Problem(
        "roles[2]",
        "error.invalid_value",
        {"field": "display_name", "value": "", "reason": "empty"},
        {"field": "field", "reason": "reason"},
    )


def test_problem_from_error_stringifies_numbers() -> None:
    from huarong_core.errors import MemberInactive

    problem = Problem.from_error("line 4", MemberInactive(member_id=7, status="left"))
    assert problem.params == {"member_id": "7", "status": "left"}


# --- found by name ------------------------------------------------------------


@pytest.mark.parametrize(
    "cls", [c for c in ERRORS if c is not HuarongError], ids=lambda c: c.__name__
)
def test_error_class_finds_every_subclass(cls: type[HuarongError]) -> None:
    assert error_class(cls.__name__) is cls


def test_error_names_are_unique() -> None:
    names = [cls.__name__ for cls in ERRORS]
    assert len(names) == len(set(names))


def test_error_class_of_an_unknown_name() -> None:
    assert error_class("NoSuchError") is None
    assert error_class("") is None


# --- behaviour as exceptions --------------------------------------------------


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_raised_and_caught_as_huarong_errors(cls: type[HuarongError]) -> None:
    error = make(cls)
    with pytest.raises(HuarongError) as caught:
        raise error
    assert caught.value is error
    assert isinstance(error.exit_code, int)
    assert 1 <= error.exit_code <= 4


def test_exit_codes() -> None:
    by_name = {cls.__name__: cls.exit_code for cls in ERRORS}
    assert by_name["HuarongError"] == 1
    assert by_name["InvalidValue"] == 1
    assert by_name["PermissionDenied"] == 4
    assert by_name["ConfigError"] == by_name["ImportRejected"] == 2
    assert by_name["StorageError"] == by_name["DatabaseUnreachable"] == 3
    assert by_name["InvalidDatabaseURL"] == 2


def test_attrs_errors_carry_their_values_as_args() -> None:
    error = make(InvalidValue)
    assert error.args == ("display_name", "", "empty")
