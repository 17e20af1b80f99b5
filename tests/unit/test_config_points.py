"""The [points] and [shop] parts of the community file: strict, with every problem placed."""

from __future__ import annotations

from pathlib import Path

import pytest

from huarong_core.config import load_config, parse_config, rule_from_entry
from huarong_core.domain.points import Period
from huarong_core.errors import ConfigError
from huarong_core.testing import SAMPLE_COMMUNITY

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "huarong" / "community.toml"


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(SAMPLE_COMMUNITY + text)
    return [(p.where, p.key) for p in caught.value.problems]


def test_the_example_carries_a_rule_set_and_a_shop() -> None:
    config = load_config(EXAMPLE)
    rules = {r.key: rule_from_entry(r) for r in config.points.rules}
    triggers = {r.trigger for r in rules.values()}
    assert {
        "event.attended",
        "salon.checked_in",
        "volunteer.hours_confirmed",
        "library.reflection_approved",
        "library.book_donated",
    } <= triggers
    assert rules["volunteering"].per_unit == 4
    assert rules["salon"].caps[Period.DAY] == 2
    assert rules["salon_no_show"].points < 0
    assert rules["reflection"].approval
    assert len(config.shop.items) >= 3
    assert config.points.season == "quarter"


def test_a_full_rule_parses() -> None:
    config = parse_config(
        SAMPLE_COMMUNITY
        + """
[points]
season = "month"

[[points.rules]]
key = "salon"
name = { zh_CN = "沙龙", en = "Salon" }
trigger = "salon.checked_in"
points = 5
filters = { categories = ["party_member"], stations = ["service"], tags = ["english"] }
caps = { day = 2, year = 100 }
point_caps = { month = 40 }
cooldown_minutes = 30
once_per_target = true
streak = { weeks = 4, bonus = 10 }
approval = true
expires_after_months = 6

[[points.rules.campaigns]]
multiplier = 1.5
starts = 2026-07-01T00:00:00+08:00
ends = 2026-07-08T00:00:00+08:00
"""
    )
    rule = rule_from_entry(config.points.rules[0])
    assert rule.caps == {Period.DAY: 2, Period.YEAR: 100}
    assert rule.point_caps == {Period.MONTH: 40}
    assert rule.cooldown is not None
    assert rule.cooldown.total_seconds() == 1800
    assert rule.campaigns[0].multiplier == 1.5
    assert rule.filters.stations == frozenset({"service"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[points.rules]]\nkey = "x"\nname = "X"\ntrigger = "salon.danced"\npoints = 1\n',
            ("points.rules[0]", "error.invalid_value"),
        ),
        (
            '[[points.rules]]\nkey = "x"\nname = "X"\ntrigger = "manual"\npoints = 1\n'
            "filters = { colour = ['red'] }\n",
            ("points.rules[0].filters.colour", "config.unknown_key"),
        ),
        (
            '[[points.rules]]\nkey = "x"\nname = "X"\ntrigger = "manual"\npoints = 1\n'
            "caps = { day = -1 }\n",
            ("points.rules[0]", "error.invalid_value"),
        ),
        (
            '[[points.rules]]\nkey = "x"\nname = "X"\ntrigger = "manual"\npoints = 1\n'
            "caps = { fortnight = 1 }\n",
            ("points.rules[0].caps.fortnight", "config.unknown_key"),
        ),
        (
            '[[points.rules]]\nkey = "x"\nname = "X"\ntrigger = "manual"\npoints = 1\n'
            "filters = { categories = ['astronaut'] }\n",
            ("points.rules[0].filters.categories", "config.unknown_category"),
        ),
        (
            '[[points.rules]]\nkey = "x"\nname = "X"\ntrigger = "manual"\npoints = 1\n'
            'campaigns = [{ multiplier = 2, starts = 2026-07-01T00:00:00, ends = "soon" }]\n',
            ("points.rules[0].campaigns[0].starts", "config.wrong_type"),
        ),
        ('[points]\nseason = "fortnight"\n', ("points.season", "config.bad_season")),
        (
            '[[shop.items]]\nkey = "cup"\nname = "Cup"\nprice = -5\nstock = 1\n',
            ("shop.items[0]", "error.invalid_value"),
        ),
        (
            '[[shop.items]]\nkey = "cup"\nname = "Cup"\nprice = 5\nstock = 1\n'
            'limit = { count = 1, period = "decade" }\n',
            ("shop.items[0]", "error.invalid_value"),
        ),
        (
            '[[shop.items]]\nkey = "cup"\nname = "Cup"\nprice = 5\nstock = 1\nstation = "moon"\n',
            ("shop.items[0].station", "config.unknown_station"),
        ),
        (  # beyond any column: a clear problem, not an overflow when it is stored
            '[[shop.items]]\nkey = "cup"\nname = "Cup"\nprice = 5\nstock = 100000000000000000000\n',
            ("shop.items[0].stock", "config.out_of_range"),
        ),
        (
            '[[shop.items]]\nkey = "cup"\nname = "Cup"\nprice = 5\nstock = 2000000\n',
            ("shop.items[0]", "error.invalid_value"),
        ),
        (
            '[[points.rules]]\nkey = "x"\nname = "X"\ntrigger = "manual"\npoints = 5000000\n',
            ("points.rules[0]", "error.invalid_value"),
        ),
    ],
)
def test_bad_points_and_shop_entries_are_placed(text: str, expected: tuple[str, str]) -> None:
    assert expected in problems(text)


def test_duplicate_rule_and_item_keys() -> None:
    found = problems(
        '[[points.rules]]\nkey = "x"\nname = "X"\ntrigger = "manual"\npoints = 1\n'
        '[[points.rules]]\nkey = "x"\nname = "Y"\ntrigger = "manual"\npoints = 2\n'
        '[[shop.items]]\nkey = "cup"\nname = "Cup"\nprice = 5\nstock = 1\n'
        '[[shop.items]]\nkey = "cup"\nname = "Mug"\nprice = 5\nstock = 1\n'
    )
    assert ("points.rules", "config.duplicate") in found
    assert ("shop.items", "config.duplicate") in found


def test_a_rule_named_by_a_plain_string_survives_storage() -> None:
    """Stored definitions are read back with the file's own rules; a plain name is `*`."""
    from huarong_core.config import structure_rule_entry
    from huarong_core.serialization import converter

    config = parse_config(
        SAMPLE_COMMUNITY
        + '[[points.rules]]\nkey = "x"\nname = "Salon"\ntrigger = "salon.checked_in"\npoints = 1\n'
    )
    entry = config.points.rules[0]
    assert structure_rule_entry(converter.unstructure(entry)) == entry
