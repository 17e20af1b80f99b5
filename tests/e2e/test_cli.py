"""The `huarong` command as an operator runs it: a real process, real databases.

Each test starts `python -m huarong_core.cli` from the repository root with
a clean environment (no `HUARONG_DB`, English messages unless a test asks
for Chinese) and judges the exit status, the output and the database.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import icalendar
import pytest

from huarong_core.config import load_config
from huarong_core.csv_files import MEMBER_COLUMNS, ORGANIZATION_COLUMNS, read_csv
from huarong_core.storage import create_database
from huarong_core.storage.migrations import LATEST_VERSION, MIGRATIONS
from huarong_core.testing import SAMPLE_COMMUNITY, snapshot

EXAMPLE = "examples/huarong/community.toml"
UNREACHABLE = "postgresql://postgres:secret@127.0.0.1:1/test"
Snapshot = dict[str, list[tuple[Any, ...]]]


@attrs.frozen
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@attrs.frozen
class Cli:
    """Runs `huarong ARGS...` in `cwd` with `env`."""

    cwd: Path
    env: Mapping[str, str]

    async def __call__(self, *args: str, env: Mapping[str, str] | None = None) -> Result:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "huarong_core.cli",
            *args,
            cwd=self.cwd,
            env=dict(self.env) | dict(env or {}),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode is not None
        return Result(process.returncode, out.decode("utf-8"), err.decode("utf-8"))


@pytest.fixture
def cli(repo_root: Path) -> Cli:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUARONG_")}
    env |= {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "USER": "tester", "PYTHONIOENCODING": "utf-8"}
    env |= {"HUARONG_WEB_LISTEN": "off"}
    return Cli(repo_root, env)


@pytest.fixture
def sqlite_file_url(tmp_path: Path) -> str:
    """An absolute SQLite URL, so it names the same file whatever the working directory."""
    return f"sqlite:///{tmp_path / 'cli.db'}"


async def db_snapshot(url: str) -> Snapshot:
    db = create_database(url)
    async with db:
        return await snapshot(db)


def write(tmp_path: Path, name: str, text: str, *, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


# --- load and list --------------------------------------------------------------------


async def test_load_then_list_members(cli: Cli, database_url: str, repo_root: Path) -> None:
    config = load_config(repo_root / EXAMPLE)

    loaded = await cli("--db", database_url, "load", EXAMPLE)

    assert loaded.code == 0, loaded.err
    assert "Loaded community “huarong”: 141 change(s)." in loaded.out

    listed = await cli("members", "list", "--json", "--db", database_url)
    assert listed.code == 0, listed.err
    data = listed.json()
    assert data["community"] == "huarong"
    assert data["count"] == len(config.members) == 9
    by_key = {item["key"]: item for item in data["items"]}
    assert set(by_key) == {m.key for m in config.members}
    assert by_key["secretary"]["display_name"] == "王建华"
    assert by_key["secretary"]["organization"] == "华融地产"
    assert by_key["secretary"]["categories"] == ["party_member"]
    assert by_key["liaison"]["organization"] is None
    assert sorted(by_key["lawyer"]["categories"]) == ["employee", "party_member"]
    assert all(item["status"] == "active" for item in data["items"])


@pytest.mark.slow
async def test_loading_twice_gives_the_same_database(cli: Cli, database_url: str) -> None:
    assert (await cli("--db", database_url, "load", EXAMPLE)).code == 0
    before = await db_snapshot(database_url)

    again = await cli("--db", database_url, "load", EXAMPLE, "--json")

    assert again.code == 0, again.err
    report = again.json()
    assert report["changes"] == 0
    assert report["created"] == {}
    assert report["updated"] == {}
    assert report["revoked"] == 0
    assert await db_snapshot(database_url) == before

    text = await cli("--db", database_url, "load", EXAMPLE)
    assert "Loaded community “huarong”: 0 change(s)." in text.out
    assert await db_snapshot(database_url) == before


async def test_dry_run_changes_nothing(cli: Cli, sqlite_file_url: str) -> None:
    assert (await cli("--db", sqlite_file_url, "migrate")).code == 0
    before = await db_snapshot(sqlite_file_url)

    dry = await cli("--db", sqlite_file_url, "load", EXAMPLE, "--dry-run")

    assert dry.code == 0, dry.err
    assert "Dry run for community “huarong”: 141 change(s) would be made" in dry.out
    assert await db_snapshot(sqlite_file_url) == before


# --- a broken community file ----------------------------------------------------------


def _broken(old: str, new: str) -> str:
    assert SAMPLE_COMMUNITY.count(old) == 1
    return SAMPLE_COMMUNITY.replace(old, new)


BROKEN_FILES = {
    "unknown key": (
        _broken('name = "Admin"\norganization = "acme"', 'name = "Admin"\norganisation = "acme"'),
        ["members[0].organisation", "unknown key “organisation”"],
    ),
    "wrong type": (
        _broken("has_party_branch = true", 'has_party_branch = "yes"'),
        ["organizations[0].has_party_branch", "expected true or false, found str"],
    ),
    "syntax error": (
        _broken('name = "Acme Insurance"', 'name = "Acme Insurance'),
        ["not valid TOML", "line"],
    ),
    "role for unknown member": (
        _broken('member = "staff"', 'member = "stuff"'),
        ["roles[1].member", "no member with key “stuff” in this file"],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN_FILES))
async def test_broken_file_is_refused_and_changes_nothing(
    cli: Cli, sqlite_file_url: str, tmp_path: Path, case: str
) -> None:
    good = write(tmp_path, "good.toml", SAMPLE_COMMUNITY)
    assert (await cli("--db", sqlite_file_url, "load", str(good))).code == 0
    before = await db_snapshot(sqlite_file_url)
    text, expected = BROKEN_FILES[case]
    broken = write(tmp_path, "broken.toml", text)

    result = await cli("--db", sqlite_file_url, "load", str(broken))

    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith(f"huarong: {broken} cannot be used:")
    for fragment in expected:
        assert fragment in result.err
    assert "Traceback" not in result.err
    assert await db_snapshot(sqlite_file_url) == before


async def test_broken_file_error_as_json(cli: Cli, sqlite_file_url: str, tmp_path: Path) -> None:
    text, _ = BROKEN_FILES["role for unknown member"]
    broken = write(tmp_path, "broken.toml", text)

    result = await cli("--db", sqlite_file_url, "--json", "load", str(broken))

    assert result.code == 2
    error = json.loads(result.err)["error"]
    assert (error["type"], error["key"]) == ("ConfigError", "error.config")
    assert "roles[1].member" in error["message"]


async def test_missing_file_is_refused(cli: Cli, sqlite_file_url: str, tmp_path: Path) -> None:
    result = await cli("--db", sqlite_file_url, "load", str(tmp_path / "nowhere.toml"))

    assert result.code == 2
    assert "the file does not exist" in result.err


# --- database URLs and reachability ---------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://x", "only sqlite:// and postgresql:// are supported"),
        ("sqlite://host/x", "a SQLite URL has no host"),
        ("huarong.db", "it needs a scheme"),
    ],
)
async def test_invalid_database_url_exits_2(cli: Cli, url: str, reason: str) -> None:
    result = await cli("--db", url, "members", "list")

    assert result.code == 2
    assert result.out == ""
    assert f"Invalid database URL “{url}”" in result.err
    assert reason in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("verbosity", [[], ["-vv"]])
async def test_unreachable_postgres_exits_3_without_the_password(
    cli: Cli, verbosity: list[str]
) -> None:
    result = await cli(*verbosity, "--db", UNREACHABLE, "members", "list")

    assert result.code == 3
    assert "Cannot open the database postgresql://postgres:***@127.0.0.1:1/test" in result.err
    assert "secret" not in result.out + result.err
    assert "Traceback" not in result.err


async def test_unreachable_postgres_from_the_environment(cli: Cli) -> None:
    result = await cli("migrate", "--status", env={"HUARONG_DB": UNREACHABLE})

    assert result.code == 3
    assert "secret" not in result.out + result.err


@pytest.mark.slow
async def test_schema_newer_than_the_code_is_refused(cli: Cli, database_url: str) -> None:
    assert (await cli("--db", database_url, "load", EXAMPLE)).code == 0
    db = create_database(database_url)
    async with db, db.transaction() as conn:
        await conn.execute(
            "INSERT INTO huarong_schema (version, name, applied_at) VALUES ($1, $2, $3)",
            999,
            "from the future",
            datetime.now(UTC),
        )
    before = await db_snapshot(database_url)

    for args in (["members", "list"], ["migrate"], ["load", EXAMPLE]):
        result = await cli("--db", database_url, *args)
        assert result.code == 3, args
        assert "version 999" in result.err
        assert f"supports ({LATEST_VERSION})" in result.err

    assert await db_snapshot(database_url) == before


# --- migrate --------------------------------------------------------------------------


@pytest.mark.slow
async def test_migrate_and_its_status(cli: Cli, sqlite_file_url: str) -> None:
    fresh = await cli("--db", sqlite_file_url, "migrate", "--status", "--json")
    assert fresh.code == 0, fresh.err
    assert fresh.json() == {
        "current": 0,
        "latest": LATEST_VERSION,
        "pending": [m.version for m in MIGRATIONS],
    }

    applied = await cli("--db", sqlite_file_url, "migrate")
    assert applied.code == 0, applied.err
    assert applied.out.splitlines() == [
        f"Applied migration {m.version}: {m.name}." for m in MIGRATIONS
    ]

    again = await cli("--db", sqlite_file_url, "migrate", "--json")
    assert again.json() == {"applied": []}
    assert (await cli("--db", sqlite_file_url, "migrate")).out == "The database is up to date.\n"

    status = await cli("--db", sqlite_file_url, "migrate", "--status", "--json")
    assert status.json() == {"current": LATEST_VERSION, "latest": LATEST_VERSION, "pending": []}
    text = await cli("--db", sqlite_file_url, "migrate", "--status")
    assert text.out == f"Schema version {LATEST_VERSION} (this Huarong: {LATEST_VERSION}).\n"


# --- import ---------------------------------------------------------------------------


ORGANIZATIONS_WITH_A_BAD_ROW = (
    "名称,楼层,行业,党支部\n"
    "怀川云商科技有限公司,5,e-commerce,否\n"
    "恒泽保险代理有限公司,10,insurance,也许\n"
    "知行书院教育科技有限公司,14,education,否\n"
)


async def test_import_is_all_or_nothing(cli: Cli, sqlite_file_url: str, tmp_path: Path) -> None:
    assert (await cli("--db", sqlite_file_url, "load", EXAMPLE)).code == 0
    before = await db_snapshot(sqlite_file_url)
    path = write(tmp_path, "orgs.csv", ORGANIZATIONS_WITH_A_BAD_ROW, encoding="gbk")

    result = await cli("--db", sqlite_file_url, "import", "organizations", str(path))

    assert result.code == 2
    assert "nothing was imported" in result.err
    assert "line 3" in result.err
    assert "也许" in result.err
    assert await db_snapshot(sqlite_file_url) == before


async def test_import_partial_keeps_the_good_rows(
    cli: Cli, sqlite_file_url: str, tmp_path: Path
) -> None:
    assert (await cli("--db", sqlite_file_url, "load", EXAMPLE)).code == 0
    path = write(tmp_path, "orgs.csv", ORGANIZATIONS_WITH_A_BAD_ROW, encoding="gbk")

    result = await cli(
        "--db", sqlite_file_url, "import", "organizations", str(path), "--partial", "--json"
    )

    assert result.code == 1  # some rows were rejected
    report = result.json()
    assert report["encoding"] == "gbk"
    assert (report["rows"], report["created"], report["updated"]) == (3, 2, 0)
    assert [(p["where"], p["key"]) for p in report["rejected"]] == [
        ("line 3", "error.invalid_value")
    ]
    assert "也许" in report["rejected"][0]["problem"]

    listed = await cli("--db", sqlite_file_url, "organizations", "list", "--json")
    names = {item["name"] for item in listed.json()["items"]}
    assert {"怀川云商科技有限公司", "知行书院教育科技有限公司"} <= names
    assert "恒泽保险代理有限公司" not in names


@pytest.mark.slow
async def test_import_the_shipped_lists_twice(cli: Cli, database_url: str) -> None:
    assert (await cli("--db", database_url, "load", EXAMPLE)).code == 0
    for kind in ("organizations", "members"):
        result = await cli("--db", database_url, "import", kind, f"examples/huarong/{kind}.csv")
        assert result.code == 0, result.err
        assert "utf-8-sig" in result.out
    before = await db_snapshot(database_url)

    for kind in ("organizations", "members"):
        again = await cli(
            "--db", database_url, "import", kind, f"examples/huarong/{kind}.csv", "--json"
        )
        assert again.code == 0, again.err
        report = again.json()
        assert (report["created"], report["updated"], report["rejected"]) == (0, 0, [])
        assert report["unchanged"] == report["rows"]
    assert await db_snapshot(database_url) == before


# --- audit, language ------------------------------------------------------------------


async def test_audit_list_json(cli: Cli, sqlite_file_url: str) -> None:
    assert (await cli("--db", sqlite_file_url, "load", EXAMPLE)).code == 0

    everything = await cli("--db", sqlite_file_url, "audit", "list", "--json", "--limit", "500")
    registered = await cli(
        "--db", sqlite_file_url, "audit", "list", "--action", "member.register", "--json"
    )

    assert everything.code == 0, everything.err
    entries = everything.json()
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)
    assert entries[-1]["action"] == "community.create"
    assert entries[-1]["details"] == {"file": EXAMPLE}
    assert {e["actor"]["label"] for e in entries} == {"system:cli:tester"}
    assert {e["action"] for e in entries} == {
        "community.create",
        "category.save",
        "station.save",
        "organization.register",
        "member.register",
        "identity.link",
        "role.grant",
        "points.rule.save",
        "shop.item.save",
        "club.save",
        "venue.save",
        "salon.save",
        "event.create",
        "service.save",
        "library.settings",
        "library.book.add",
        "library.copy.add",
        "volunteer.settings",
        "volunteer.task.save",
        "volunteer.shift.add",
    }
    assert registered.code == 0, registered.err
    names = [e["details"]["name"] for e in registered.json()]
    assert len(names) == 9
    assert "王建华" in names
    assert {e["action"] for e in registered.json()} == {"member.register"}


async def test_chinese_output_with_lang(cli: Cli, sqlite_file_url: str) -> None:
    loaded = await cli("--lang", "zh_CN", "--db", sqlite_file_url, "load", EXAMPLE)
    listed = await cli("--db", sqlite_file_url, "members", "list", "--lang", "zh_CN")
    english = await cli("--db", sqlite_file_url, "members", "list")

    assert "已加载社区“huarong”：141 处变更。" in loaded.out
    assert listed.code == 0, listed.err
    header = listed.out.splitlines()[0].split()
    assert header == ["编号", "名称", "单位", "类别", "状态", "标识"]
    assert "共 9 名成员。" in listed.out
    assert "党员" in listed.out
    assert english.out.splitlines()[0].split() == [
        "ID",
        "Name",
        "Organization",
        "Categories",
        "Status",
        "Key",
    ]
    assert "党员" not in english.out  # category names follow the language too


async def test_chinese_from_the_environment_and_for_errors(cli: Cli) -> None:
    from_lang = await cli("--db", "mysql://x", "members", "list", env={"LC_ALL": "zh_CN.UTF-8"})
    from_option = await cli("--lang", "zh_CN", "--db", "mysql://x", "members", "list")

    for result in (from_lang, from_option):
        assert result.code == 2
        assert "数据库地址“mysql://x”无效" in result.err


# --- demo -----------------------------------------------------------------------------


async def test_demo_on_a_fresh_database(cli: Cli, sqlite_file_url: str, repo_root: Path) -> None:
    examples = repo_root / "examples" / "huarong"
    config = load_config(examples / "community.toml")
    organization_rows = read_csv(examples / "organizations.csv", ORGANIZATION_COLUMNS).rows
    member_rows = read_csv(examples / "members.csv", MEMBER_COLUMNS).rows

    shown = await cli("--db", sqlite_file_url, "demo", "--json")

    assert shown.code == 0, shown.err
    assert shown.json() == {
        "community": "huarong",
        "database": sqlite_file_url,
        "members": len(config.members) + len(member_rows),
        "organizations": len(config.organizations) + len(organization_rows),
        "stations": [s.key for s in config.stations],
    }
    before = await db_snapshot(sqlite_file_url)

    again = await cli("--db", sqlite_file_url, "demo")

    assert again.code == 0, again.err
    assert "Huarong International Building" in again.out
    assert "Huaying station (29)" in again.out
    assert await db_snapshot(sqlite_file_url) == before


def test_demo_lists_are_plausible(repo_root: Path) -> None:
    examples = repo_root / "examples" / "huarong"
    config = load_config(examples / "community.toml")
    organizations = read_csv(examples / "organizations.csv", ORGANIZATION_COLUMNS)
    members = read_csv(examples / "members.csv", MEMBER_COLUMNS)

    assert organizations.encoding == members.encoding == "utf-8-sig"
    assert 20 <= len(organizations.rows) <= 30
    assert 35 <= len(members.rows) <= 50
    floors = [int(r.get("floor")) for r in organizations.rows]
    assert all(3 <= floor <= 28 for floor in floors)
    industries = {r.get("industry") for r in organizations.rows}
    assert {"insurance", "education", "finance", "e-commerce"} <= industries
    names = [r.get("name") for r in organizations.rows]
    assert len(set(names)) == len(names)
    assert not set(names) & {o.name for o in config.organizations}
    known = set(names) | {o.name for o in config.organizations}
    assert {r.get("organization") for r in members.rows} - {""} <= known
    people = [(r.get("name"), r.get("organization")) for r in members.rows]
    assert len(set(people)) == len(people)
    assert not {r.get("name") for r in members.rows} & {m.name for m in config.members}


# --- gatherings ------------------------------------------------------------------------


async def test_whatson_and_calendar(cli: Cli, sqlite_file_url: str, tmp_path: Path) -> None:
    assert (await cli("--db", sqlite_file_url, "load", EXAMPLE)).code == 0

    week = await cli("--db", sqlite_file_url, "whatson", "--json")
    assert week.code == 0, week.err
    # The Red Coffee salon meets every Wednesday: a week always holds one.
    assert "red_coffee" in {g["salon_key"] for g in week.json()}
    text = await cli("--db", sqlite_file_url, "--lang", "zh_CN", "whatson", "--days", "14")
    assert "红咖沙龙" in text.out
    assert "红咖角" in text.out

    target = tmp_path / "english.ics"
    written = await cli(
        "--db", sqlite_file_url, "calendar", "salon", "english", "--output", str(target)
    )
    assert written.code == 0, written.err
    feed = icalendar.Calendar.from_ical(target.read_bytes())
    starts = [e.decoded("dtstart") for e in feed.walk("VEVENT")]
    assert starts
    assert all((s.hour, s.minute, str(s.tzinfo)) == (19, 0, "Asia/Shanghai") for s in starts)

    mine = await cli("--db", sqlite_file_url, "calendar", "member", "secretary")
    assert mine.code == 0, mine.err
    assert mine.out.startswith("BEGIN:VCALENDAR")
    missing = await cli("--db", sqlite_file_url, "calendar", "salon", "nope")
    assert missing.code == 1
    assert "nope" in missing.err
