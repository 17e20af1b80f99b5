"""`huarong chat` as a person runs it: a real process, a piped script, the example building."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import attrs
import pytest


@attrs.frozen
class Run:
    code: int
    out: str
    err: str

    @property
    def replies(self) -> list[str]:
        return [block for block in self.out.split("\n\n") if block.strip()]


async def chat(repo_root: Path, db: str, script: str, *args: str) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUARONG_")}
    env |= {
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "HUARONG_CHAT_HISTORY": os.devnull,
        "HUARONG_WEB_LISTEN": "off",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "huarong_core.cli",
        "--db",
        db,
        "chat",
        *args,
        cwd=repo_root,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(script.encode()), timeout=120)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


@pytest.fixture
def demo_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'demo.db'}"


@pytest.mark.slow
async def test_a_piped_script_lists_the_example_clubs_in_english_then_chinese(
    repo_root: Path, demo_db: str
) -> None:
    run = await chat(
        repo_root, demo_db, "/lang en\n/clubs\n/lang zh_CN\n/clubs\n", "--as", "Tester"
    )

    assert run.code == 0, run.err
    assert "the example building was loaded" in run.err or "已载入示例大楼" in run.err
    language, english, chinese_set, chinese = run.replies
    assert language == "Language set to English."
    assert "1. Badminton" in english
    assert "2. Chess and cards" in english
    assert "语言已设为中文" in chinese_set
    assert "1. 羽毛球协会" in chinese


@pytest.mark.slow
async def test_end_of_input_exits_cleanly_and_a_second_run_is_the_same_member(
    repo_root: Path, demo_db: str
) -> None:
    first = await chat(repo_root, demo_db, "/name 测试员\n", "--as", "tester-2")
    again = await chat(repo_root, demo_db, "/me\n", "--as", "tester-2")
    empty = await chat(repo_root, demo_db, "", "--as", "tester-2")

    assert (first.code, again.code, empty.code) == (0, 0, 0)
    assert first.replies == ["您的名字已改为测试员。"]
    assert again.replies[0].startswith("测试员（会员 #")
    assert empty.out == ""


@pytest.mark.slow
async def test_buttons_are_numbered_and_a_number_presses_one(repo_root: Path, demo_db: str) -> None:
    run = await chat(repo_root, demo_db, "/lang\n2\n", "--as", "presser")

    assert run.code == 0, run.err
    menu, pressed = run.replies
    assert "[1] 中文" in menu
    assert "[2] English" in menu
    assert pressed == "Language set to English."


@pytest.mark.slow
async def test_speaking_in_a_group_marks_private_answers(repo_root: Path, demo_db: str) -> None:
    run = await chat(repo_root, demo_db, "/me\n", "--as", "grouper", "--chat", "lobby")

    assert run.code == 0, run.err
    private, note = run.replies
    assert private.startswith("（私信）grouper（会员 #")
    assert note == "grouper，已私信回复您。"


async def test_chat_needs_a_name(repo_root: Path, demo_db: str) -> None:
    run = await chat(repo_root, demo_db, "", "--as", "  ")
    assert run.code == 2
    assert "--as needs a name" in run.err
