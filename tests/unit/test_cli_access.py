"""`huarong access ...`: sign-in codes, passwords and API tokens from the terminal.

Run in-process (`cli.main`) against a SQLite file, with the prompt and standard
input replaced, so that the password paths can be tested without a terminal.
"""

from __future__ import annotations

import asyncio
import getpass
import io
import json
import re
from collections.abc import Coroutine, Iterator, MutableMapping
from pathlib import Path
from typing import Any, TypeVar

import pytest
from structlog.testing import capture_logs

from huarong_core import Actor, Huarong
from huarong_core import cli as cli_module
from huarong_core.commands import AuthenticateApiToken, CheckPassword, Command, RedeemSignInCode
from huarong_core.domain.members import Member
from huarong_core.errors import InvalidApiToken
from huarong_core.testing import SAMPLE_COMMUNITY

WEB = Actor.system("web")
PASSWORD = "correct horse battery"
R = TypeVar("R")


class Cli:
    def __init__(self, url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.url = url
        self.capsys = capsys
        self.logs: list[MutableMapping[str, Any]] = []

    def __call__(self, *args: str) -> tuple[int, str, str]:
        code = cli_module.main(["--db", self.url, "--lang", "en", *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def execute(self, command: Command[R]) -> R:
        async def run() -> R:
            async with Huarong(self.url) as huarong:
                handle = await huarong.community()
                return await handle.execute(command, actor=WEB)

        return _run(run())


def _run(coroutine: Coroutine[Any, Any, R]) -> R:
    return asyncio.run(coroutine)


@pytest.fixture
def cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cli]:
    # The CLI configures structlog for a terminal; the rest of the test session keeps its own.
    monkeypatch.setattr(cli_module, "_configure_logging", lambda verbosity: None)
    monkeypatch.setenv("USER", "tester")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    path = tmp_path / "community.toml"
    path.write_text(SAMPLE_COMMUNITY, encoding="utf-8")
    runner = Cli(url, capsys)
    with capture_logs() as logs:  # log lines stay out of the output, and can be searched
        runner.logs = logs
        code, _, err = runner("load", str(path))
        assert code == 0, err
        yield runner


def logged(cli: Cli) -> str:
    return "\n".join(str(entry) for entry in cli.logs)


def test_code_prints_a_fresh_sign_in_code(cli: Cli) -> None:
    code, out, err = cli("access", "code", "alice")
    assert code == 0, err
    found = re.search(r"Sign-in code for Alice \(#\d+\): ([2-9A-Z]{8})", out)
    assert found is not None, out
    assert "It works once, until " in out
    member = cli.execute(RedeemSignInCode(found.group(1)))
    assert isinstance(member, Member)
    assert member.key == "alice"

    code, out, err = cli("access", "code", "alice", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert cli.execute(RedeemSignInCode(data["code"])).id == data["member_id"]

    code, out, err = cli("access", "code", "nobody")
    assert code == 1
    assert "nobody" in err


def test_password_from_standard_input(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\r\nignored\n"))
    code, out, err = cli("access", "password", "admin")
    assert code == 0, err
    assert out.startswith("Password set for Admin (#")
    assert PASSWORD not in out + err + logged(cli)
    assert cli.execute(CheckPassword("admin", PASSWORD)).key == "admin"

    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, out, err = cli("access", "password", "admin")
    assert code == 1
    assert "at least 12 characters" in err
    assert "short" not in err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_password_at_a_terminal_is_asked_twice(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal())
    answers = iter([PASSWORD, PASSWORD + "?"])
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    code, out, err = cli("access", "password", "alice")
    assert (code, out) == (2, "")
    assert "differ" in err
    assert prompts[0].startswith("New password for Alice")

    answers = iter([PASSWORD, PASSWORD])
    code, _, err = cli("access", "password", "alice")
    assert code == 0, err
    assert cli.execute(CheckPassword("alice", PASSWORD)).key == "alice"


def test_tokens_are_made_listed_and_revoked(cli: Cli) -> None:
    code, out, err = cli(
        "access", "token", "create", "--member", "admin", "--name", "backup", "--scope", "read",
        "--scope", "write", "--expires", "2030-01-31",
    )  # fmt: skip
    assert code == 0, err
    lines = out.splitlines()
    assert "shown only now" in lines[0]
    token = lines[1]
    assert token.startswith("hr_")
    info = cli.execute(AuthenticateApiToken(token))
    assert info.scopes == frozenset({"read", "write"})
    assert info.expires_at is not None
    assert info.expires_at.isoformat().startswith("2030-01-31T16:00")  # midnight in Shanghai

    code, out, err = cli(
        "access", "token", "create", "--member", "alice", "--name", "feed", "--scope", "read",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    made = json.loads(out)
    assert made["token"].startswith("hr_")
    assert made["info"]["scopes"] == ["read"]
    assert "token_hash" not in made["info"]

    code, out, err = cli("access", "token", "list", "--member", "admin")
    assert code == 0, err
    assert "backup" in out
    assert "read write" in out
    assert "active" in out
    assert token not in out + logged(cli)

    code, out, err = cli("access", "token", "revoke", str(info.id))
    assert code == 0, err
    assert f"API token #{info.id} “backup” is revoked." in out
    with pytest.raises(InvalidApiToken):
        cli.execute(AuthenticateApiToken(token))
    code, out, err = cli("access", "token", "list", "--member", "admin", "--json")
    assert code == 0, err
    [listed] = json.loads(out)["items"]
    assert listed["revoked_at"] is not None

    code, out, err = cli("access", "token", "list", "--member", "staff")
    assert (code, out) == (0, "No API tokens.\n")
    code, out, err = cli("access", "token", "create", "--member", "admin", "--name", "x")
    assert code == 1
    assert "scope" in err
    code, out, err = cli("access", "token", "revoke", "999")
    assert code == 1
