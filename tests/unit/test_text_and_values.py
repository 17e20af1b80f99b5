"""Small values every area uses: localized text, identities, and the validation helpers."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huarong_core.domain.members import MAX_EXTERNAL_ID_LENGTH, IdentityRef
from huarong_core.domain.text import LocalizedText
from huarong_core.domain.validation import (
    BIDI_CONTROLS,
    KEY_PATTERN,
    MAX_NAME_LENGTH,
    require_key,
    require_locale,
    require_name,
    require_timezone,
)
from huarong_core.errors import InvalidValue


def reason_of(error: pytest.ExceptionInfo[InvalidValue]) -> str:
    return error.value.reason


# --- LocalizedText ------------------------------------------------------------


def test_get_prefers_the_requested_locale() -> None:
    text = LocalizedText({"zh_CN": "华英驿站", "en": "Huaying station", "*": "Huaying"})
    assert text.get("zh_CN") == "华英驿站"
    assert text.get("en") == "Huaying station"


def test_get_falls_back_to_the_any_language_text_before_english() -> None:
    text = LocalizedText({"*": "新华保险", "en": "Xinhua Insurance"})
    assert text.get("zh_CN") == "新华保险"
    assert text.get("fr") == "新华保险"
    assert text.get("en") == "Xinhua Insurance"


def test_get_falls_back_to_english() -> None:
    text = LocalizedText({"zh_CN": "党员", "en": "Party member"})
    assert text.get("fr") == "Party member"


def test_get_falls_back_to_the_first_text_there_is() -> None:
    assert LocalizedText({"zh_CN": "党员"}).get("en") == "党员"
    # "First" is by locale code, so the choice does not depend on how the text was written.
    assert LocalizedText({"zh_CN": "b", "ja": "a"}).get("en") == "a"
    assert LocalizedText({"ja": "a", "zh_CN": "b"}).get("en") == "a"


def test_empty_text_gives_an_empty_string() -> None:
    assert LocalizedText({}).get("en") == ""
    assert LocalizedText(()).get("zh_CN") == ""


def test_plain_text_is_the_same_in_every_locale() -> None:
    text = LocalizedText.plain("新华保险")
    assert text.get("zh_CN") == text.get("en") == text.get("xx") == "新华保险"
    assert text.as_dict() == {"*": "新华保险"}


def test_equality_and_hash_ignore_the_order_written() -> None:
    one = LocalizedText({"zh_CN": "党员", "en": "Party member"})
    two = LocalizedText({"en": "Party member", "zh_CN": "党员"})
    three = LocalizedText((("en", "Party member"), ("zh_CN", "党员")))
    assert one == two == three
    assert hash(one) == hash(two) == hash(three)
    assert len({one, two, three}) == 1
    assert one != LocalizedText({"zh_CN": "党员"})
    assert one != LocalizedText({"zh_CN": "党员", "en": "Member"})


def test_as_dict_round_trips() -> None:
    values = {"zh_CN": "党员", "en": "Party member"}
    assert LocalizedText(values).as_dict() == values
    assert LocalizedText(LocalizedText(values).as_dict()) == LocalizedText(values)


def test_values_are_stored_sorted() -> None:
    assert LocalizedText({"zh_CN": "b", "en": "a"}).values == (("en", "a"), ("zh_CN", "b"))


LOCALES = st.sampled_from(["zh_CN", "en", "*", "ja", "fr"])
TABLES = st.dictionaries(LOCALES, st.text(min_size=1, max_size=5), max_size=5)


@given(TABLES, st.sampled_from(["zh_CN", "en", "fr", "*"]))
def test_get_follows_the_documented_order(table: dict[str, str], locale: str) -> None:
    text = LocalizedText(table)
    for candidate in (locale, "*", "en"):
        if candidate in table:
            assert text.get(locale) == table[candidate]
            return
    assert text.get(locale) == (table[min(table)] if table else "")


@given(TABLES)
def test_equal_tables_give_equal_texts(table: dict[str, str]) -> None:
    reordered = dict(reversed(list(table.items())))
    assert LocalizedText(table) == LocalizedText(reordered)
    assert hash(LocalizedText(table)) == hash(LocalizedText(reordered))


# --- IdentityRef --------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "external_id"),
    [
        ("telegram", "123456789"),
        ("matrix", "@wangfang:huarong.example"),
        ("console", "secretary"),
        ("we_chat2", "x"),
        ("qq", "1" * MAX_EXTERNAL_ID_LENGTH),
    ],
)
def test_valid_identities(platform: str, external_id: str) -> None:
    ref = IdentityRef(platform, external_id)
    assert str(ref) == f"{platform}:{external_id}"
    assert ref == IdentityRef(platform, external_id)
    assert hash(ref) == hash(IdentityRef(platform, external_id))


@pytest.mark.parametrize(
    "platform",
    ["", "t", "Telegram", "1telegram", "tele-gram", "tele gram", "_x", "a" * 33, "telegram\n"],
)
def test_bad_platform(platform: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        IdentityRef(platform, "1")
    assert (caught.value.field, caught.value.reason) == ("platform", "bad_platform")
    assert caught.value.value == platform


@pytest.mark.parametrize("external_id", ["", " ", "\t\n", "1" * (MAX_EXTERNAL_ID_LENGTH + 1)])
def test_bad_external_id(external_id: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        IdentityRef("telegram", external_id)
    assert (caught.value.field, caught.value.reason) == ("external_id", "bad_external_id")


def test_platform_is_checked_before_the_id() -> None:
    with pytest.raises(InvalidValue) as caught:
        IdentityRef("Bad", "")
    assert caught.value.reason == "bad_platform"


# --- require_key --------------------------------------------------------------


@pytest.mark.parametrize("key", ["a", "huarong", "party_member", "floor-29", "x1", "a" * 63])
def test_good_keys(key: str) -> None:
    assert require_key("key", key) == key


@pytest.mark.parametrize(
    "key",
    ["", "A", "Huarong", "1st", "_a", "-a", "a b", "a.b", "a:b", "华融", "a" * 64, "abc\n", " a"],
)
def test_bad_keys(key: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        require_key("station", key)
    assert (caught.value.field, caught.value.value, caught.value.reason) == (
        "station",
        key,
        "bad_key",
    )


@given(st.text(max_size=70))
def test_require_key_agrees_with_the_pattern(text: str) -> None:
    accepted = KEY_PATTERN.fullmatch(text) is not None
    try:
        require_key("key", text)
    except InvalidValue:
        assert not accepted
    else:
        assert accepted


# --- require_name -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("王芳", "王芳"),
        ("  王芳  ", "王芳"),
        ("Emily   Zhou", "Emily Zhou"),
        ("Emily\tZhou\n", "Emily Zhou"),
        ("\u3000新华保险\u3000", "新华保险"),
        ("a" * MAX_NAME_LENGTH, "a" * MAX_NAME_LENGTH),
        ("  " + "a" * MAX_NAME_LENGTH + "  ", "a" * MAX_NAME_LENGTH),
    ],
)
def test_names_are_trimmed_and_spaces_collapsed(raw: str, clean: str) -> None:
    assert require_name("name", raw) == clean


@pytest.mark.parametrize("raw", ["", " ", "\t\n", "\u3000"])
def test_empty_names(raw: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        require_name("display_name", raw)
    assert (caught.value.field, caught.value.reason) == ("display_name", "empty")


def test_too_long_names() -> None:
    with pytest.raises(InvalidValue) as caught:
        require_name("name", "a" * (MAX_NAME_LENGTH + 1))
    assert caught.value.reason == "too_long"
    assert caught.value.value == "a" * 20 + "…"


def test_max_length_can_be_lowered() -> None:
    assert require_name("floor", "x" * 60, max_length=60) == "x" * 60
    with pytest.raises(InvalidValue) as caught:
        require_name("floor", "x" * 61, max_length=60)
    assert caught.value.reason == "too_long"


@pytest.mark.parametrize(
    "raw",
    [
        "王\x00芳",
        "a\x07b",
        "bell\x1b[31m",
        "a\x0bb",
        "a\x1fb",
        "a\x7fb",
        "a\x85b",
        "admin\u202etxt",
    ],
)
def test_control_characters(raw: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        require_name("name", raw)
    assert caught.value.reason == "control_characters"


def _expected_reason(raw: str) -> str | None:
    """The documented rules, checked in order: empty, too long, control characters."""
    collapsed = " ".join(raw.split())
    if not collapsed:
        return "empty"
    if len(collapsed) > MAX_NAME_LENGTH:
        return "too_long"
    if any(
        (unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS) and ch not in "\t\n\r"
        for ch in raw
    ):
        return "control_characters"
    return None


@given(st.text(max_size=150))
def test_require_name_follows_its_rules(raw: str) -> None:
    reason = _expected_reason(raw)
    if reason is not None:
        with pytest.raises(InvalidValue) as caught:
            require_name("name", raw)
        assert caught.value.reason == reason
        return
    clean = require_name("name", raw)
    assert clean == " ".join(raw.split())
    assert 0 < len(clean) <= MAX_NAME_LENGTH
    assert all(ord(ch) >= 32 for ch in clean)
    assert require_name("name", clean) == clean


# --- require_timezone / require_locale ----------------------------------------


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "Europe/Berlin", "America/New_York"])
def test_known_timezones(zone: str) -> None:
    assert require_timezone("timezone", zone) == zone


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "Asia/", "../etc/passwd", "/etc/localtime"])
def test_unknown_timezones(zone: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        require_timezone("timezone", zone)
    assert (caught.value.field, caught.value.reason) == ("timezone", "unknown_timezone")


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_supported_locales(locale: str) -> None:
    assert require_locale("locale", locale) == locale


@pytest.mark.parametrize("locale", ["zh", "zh-CN", "en_US", "EN", "fr", ""])
def test_unsupported_locales(locale: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        require_locale("locale", locale)
    assert (caught.value.field, caught.value.reason) == ("locale", "unknown_locale")
