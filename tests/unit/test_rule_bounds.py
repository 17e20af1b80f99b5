"""A rule's durations are bounded: a typo is a clear refusal, never an overflow."""

from __future__ import annotations

import pytest

from huarong_core.config import MAX_COOLDOWN_MINUTES, RuleEntry, rule_from_entry
from huarong_core.domain.text import LocalizedText
from huarong_core.errors import InvalidValue


def _entry(**fields: object) -> RuleEntry:
    return RuleEntry(
        key="reading",
        name=LocalizedText({"en": "Reading"}),
        trigger="event.attended",
        points=5,
        **fields,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("minutes", "reason"),
    [(-1, "negative_cooldown"), (-(2**63), "negative_cooldown"), (2**63 - 1, "out_of_range")],
)
def test_a_cooldown_out_of_bounds_is_refused(minutes: int, reason: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        rule_from_entry(_entry(cooldown_minutes=minutes))
    assert refused.value.field == "cooldown"
    assert refused.value.reason == reason


def test_the_longest_cooldown_and_expiry_are_accepted() -> None:
    rule = rule_from_entry(_entry(cooldown_minutes=MAX_COOLDOWN_MINUTES, expires_after_months=1200))
    assert rule.cooldown is not None
    assert rule.expires_after_months == 1200


@pytest.mark.parametrize("months", [0, 1201, 2**63 - 1])
def test_an_expiry_out_of_bounds_is_refused(months: int) -> None:
    with pytest.raises(InvalidValue) as refused:
        rule_from_entry(_entry(expires_after_months=months))
    assert refused.value.reason == "bad_expiry"
