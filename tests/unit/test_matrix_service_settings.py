"""`huarong serve`'s Matrix settings: wrong ones stop it with every problem named.

No homeserver is needed: the settings are checked before anything connects.
"""

from __future__ import annotations

from typing import Any, cast

import pytest

from huarong_core.app import CommunityHandle
from huarong_core.errors import ConfigError
from huarong_core.i18n import render_error
from huarong_matrix.service import create

NO_HANDLE = cast(CommunityHandle, None)
"""Never reached: each case is refused before a service is built."""


async def test_without_a_homeserver_there_is_no_matrix_service() -> None:
    assert await create(NO_HANDLE, {"HUARONG_MATRIX_USER": "@bot:example.org"}) is None


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        (
            {"HUARONG_MATRIX_USER": "bot", "HUARONG_MATRIX_INVITERS": "@lin:example.org, bob"},
            ["HUARONG_MATRIX_USER", "HUARONG_MATRIX_PASSWORD", "HUARONG_MATRIX_INVITERS"],
        ),
        ({"HUARONG_MATRIX_USER": "@bot:example.org"}, ["HUARONG_MATRIX_PASSWORD"]),
        (
            {"HUARONG_MATRIX_USER": "@bot", "HUARONG_MATRIX_ACCESS_TOKEN": "t"},
            ["HUARONG_MATRIX_USER"],
        ),
    ],
)
async def test_wrong_settings_are_all_named_in_both_languages(
    environ: dict[str, str], named: list[str]
) -> None:
    settings: dict[str, Any] = {"HUARONG_MATRIX_HOMESERVER": "https://matrix.example.org"}
    with pytest.raises(ConfigError) as refused:
        await create(NO_HANDLE, {**settings, **environ})
    assert [p.where for p in refused.value.problems] == named
    english, chinese = render_error(refused.value, "en"), render_error(refused.value, "zh_CN")
    for where in named:
        assert where in english
        assert where in chinese
    assert "chat.matrix" not in english + chinese  # every message found in the catalogs
    assert "t" not in [p.params.get("value") for p in refused.value.problems]  # no secret shown
