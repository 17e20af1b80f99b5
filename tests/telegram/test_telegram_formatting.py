"""HTML escaping, UTF-16 splitting and the keyboard of a formatted reply."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huarong_telegram.formatting import (
    MAX_MESSAGE_LENGTH,
    button_label,
    escape_html,
    format_message,
    split_text,
    utf16_length,
)
from huarong_telegram.types import MAX_BUTTON_TEXT, InlineKeyboardButton

EMOJI = "😀"  # outside the BMP: two UTF-16 units
FAMILY = "👩\u200d👩\u200d👧"  # a ZWJ sequence
THUMB = "👍🏽"  # with a skin tone modifier


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_escape_html_escapes_exactly_what_telegram_parses() -> None:
    assert escape_html("<b>&") == "&lt;b&gt;&amp;"
    assert escape_html("say \"hi\" & 'bye'") == "say \"hi\" &amp; 'bye'"
    assert escape_html('a"b', quote=True) == "a&quot;b"
    assert escape_html("&amp;") == "&amp;amp;"
    assert escape_html("李雷 <admin>") == "李雷 &lt;admin&gt;"


@given(st.text())
def test_escaped_text_reads_back_as_itself(text: str) -> None:
    escaped = escape_html(text)
    assert "<" not in escaped
    assert ">" not in escaped
    assert html.unescape(escaped) == text


def test_utf16_length_counts_as_telegram_does() -> None:
    assert utf16_length("") == 0
    assert utf16_length("abc") == 3
    assert utf16_length("华容道") == 3
    assert utf16_length(EMOJI) == 2
    assert utf16_length(FAMILY) == units(FAMILY) == 8


def test_short_and_blank_texts() -> None:
    assert split_text("hello") == ["hello"]
    assert split_text("") == []
    assert split_text(" \n\n  ") == []
    assert split_text("x" * MAX_MESSAGE_LENGTH) == ["x" * MAX_MESSAGE_LENGTH]


def test_ten_thousand_characters_without_a_break_are_cut_at_the_limit() -> None:
    text = "a" * 10_000
    chunks = split_text(text)
    assert [len(c) for c in chunks] == [4096, 4096, 1808]
    assert "".join(chunks) == text


def test_chinese_text_counts_one_unit_per_character() -> None:
    text = "华容道社区" * 2000
    chunks = split_text(text)
    assert [len(c) for c in chunks] == [4096, 4096, 1808]
    assert "".join(chunks) == text


def test_an_emoji_at_the_boundary_moves_whole_to_the_next_chunk() -> None:
    text = "a" * 4095 + EMOJI + "b" * 10
    chunks = split_text(text)
    assert chunks == ["a" * 4095, EMOJI + "b" * 10]
    assert all(units(chunk) <= MAX_MESSAGE_LENGTH for chunk in chunks)


def test_emoji_only_text_never_splits_a_surrogate_pair() -> None:
    text = EMOJI * 5000  # 10,000 units
    chunks = split_text(text)
    assert [units(c) for c in chunks] == [4096, 4096, 1808]
    assert "".join(chunks) == text


@pytest.mark.parametrize("cluster", [FAMILY, THUMB, "e\u0301"])
def test_a_short_cluster_at_the_boundary_stays_whole(cluster: str) -> None:
    head = "a" * (MAX_MESSAGE_LENGTH - units(cluster) + 1)
    chunks = split_text(head + cluster)
    assert chunks == [head, cluster]


def test_breaks_prefer_a_blank_line_then_a_line_then_a_space() -> None:
    para = "x" * 3000
    assert split_text(f"{para}\n\nsecond line\n{para}") == [para, f"second line\n{para}"]
    lines = f"{'y' * 3000}\nshort\n{'z' * 2000}"
    assert split_text(lines) == [f"{'y' * 3000}\nshort", "z" * 2000]
    words = " ".join(["word"] * 1000)  # 4999 units, spaces only
    chunks = split_text(words)
    assert len(chunks) == 2
    assert all(not c.startswith(" ") and not c.endswith(" ") for c in chunks)
    assert " ".join(chunks) == words


def test_an_early_blank_line_does_not_make_a_needlessly_short_chunk() -> None:
    text = "intro\n\n" + "w " * 3000
    chunks = split_text(text)
    assert len(chunks[0]) > MAX_MESSAGE_LENGTH // 2
    assert all(units(c) <= MAX_MESSAGE_LENGTH for c in chunks)


@given(
    st.text(alphabet=st.sampled_from(["a", "中", " ", "\n", EMOJI, "\u200d", "\u0301"])),
    st.integers(min_value=2, max_value=40),
)
def test_chunks_fit_are_never_blank_and_keep_every_visible_character(text: str, limit: int) -> None:
    chunks = split_text(text, limit)
    assert all(units(c) <= limit for c in chunks)
    assert all(c.strip() for c in chunks)
    assert "".join("".join(c.split()) for c in chunks) == "".join(text.split())


def test_a_member_named_like_markup_shows_literally() -> None:
    chunks = format_message("欢迎 <b>& 加入读书会", [[("<i>报名</i>", "rsvp 3")]])
    assert len(chunks) == 1
    assert chunks[0].html == "欢迎 &lt;b&gt;&amp; 加入读书会"
    markup = chunks[0].reply_markup
    assert markup is not None
    assert markup.inline_keyboard == (
        (InlineKeyboardButton("<i>报名</i>", callback_data="rsvp 3"),),
    )


def test_a_long_reply_gets_its_keyboard_on_the_last_chunk_only() -> None:
    text = "&" * 5000
    chunks = format_message(text, [[("上一页", "page 1"), ("下一页", "page 3")], []])
    assert [c.reply_markup is None for c in chunks] == [True, False]
    # The limit counts the text Telegram shows, not its escaped HTML.
    assert chunks[0].html == "&amp;" * 4096
    assert html.unescape("".join(c.html for c in chunks)) == text
    last = chunks[-1].reply_markup
    assert last is not None
    assert [[b.callback_data for b in row] for row in last.inline_keyboard] == [
        ["page 1", "page 3"]
    ]


def test_labels_are_trimmed_and_payloads_must_fit_callback_data() -> None:
    long_label = "很长的名字" * 30
    label = button_label(long_label)
    assert len(label) == MAX_BUTTON_TEXT
    assert label.endswith("…")
    assert button_label("  two\nlines ") == "two lines"
    with pytest.raises(ValueError, match="callback_data"):
        format_message("hi", [[("x", "报" * 30)]])


def test_blank_texts() -> None:
    assert format_message("   ", []) == []
    with pytest.raises(ValueError, match="buttons"):
        format_message("", [[("ok", "ok")]])
    assert format_message("plain", [])[0].reply_markup is None
