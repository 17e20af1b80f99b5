"""The community file: strict parsing, every problem reported with its place."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from huarong_core.config import (
    CommunityConfig,
    IdentityEntry,
    RoleEntry,
    load_config,
    parse_config,
)
from huarong_core.domain.text import LocalizedText
from huarong_core.errors import ConfigError, Problem
from huarong_core.i18n import has_key

HEAD = """\
[community]
key = "hr"
name = "华融"
"""

MEMBER = """
[[members]]
key = "a"
name = "王芳"
"""


def problems_of(text: str) -> tuple[Problem, ...]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="test.toml")
    assert caught.value.file == "test.toml"
    found = caught.value.problems
    assert found, "a ConfigError always lists at least one problem"
    for problem in found:
        assert has_key(problem.key, "en"), problem.key
        assert has_key(problem.key, "zh_CN"), problem.key
    return found


def places(text: str) -> list[tuple[str, str]]:
    return [(p.where, p.key) for p in problems_of(text)]


def only_problem(text: str) -> Problem:
    found = problems_of(text)
    assert len(found) == 1, found
    return found[0]


# --- the shipped example ------------------------------------------------------


@pytest.fixture
def example(examples_dir: Path) -> CommunityConfig:
    return load_config(examples_dir / "community.toml")


def test_example_community(example: CommunityConfig) -> None:
    section = example.community
    assert section.key == "huarong"
    assert section.name.get("zh_CN") == "华融国际大厦"
    assert section.name.get("en") == "Huarong International Building"
    assert section.timezone == "Asia/Shanghai"
    assert section.locale == "zh_CN"


def test_example_categories(example: CommunityConfig) -> None:
    assert [c.key for c in example.categories] == [
        "party_member",
        "floating_party_member",
        "employee",
        "resident",
    ]
    assert example.categories[0].name.get("zh_CN") == "党员"


def test_example_stations(example: CommunityConfig) -> None:
    assert [s.key for s in example.stations] == [
        "party_masses",
        "enterprise",
        "huaying",
        "community_liaison",
    ]
    huaying = example.stations[2]
    assert huaying.floor == "29"
    assert huaying.name.get("en") == "Huaying station"
    assert huaying.description is not None
    assert "29" in huaying.description.get("zh_CN")
    assert example.stations[0].floor is None


def test_example_organizations(example: CommunityConfig) -> None:
    assert len(example.organizations) == 7
    with_branch = [o.key for o in example.organizations if o.has_party_branch]
    assert with_branch == [
        "xinhua_insurance",
        "sunshine_insurance",
        "dacheng_law",
        "changyuan_metals",
        "ruifan_education",
    ]
    first = example.organizations[0]
    assert (first.name, first.industry, first.floor) == ("新华保险", "insurance", None)


def test_example_members(example: CommunityConfig) -> None:
    assert len(example.members) == 9
    by_key = {m.key: m for m in example.members}
    secretary = by_key["secretary"]
    assert secretary.name == "王建华"
    assert secretary.organization == "huarong_realty"
    assert secretary.categories == ("party_member",)
    assert secretary.identities == (IdentityEntry(platform="console", id="secretary"),)
    assert by_key["liaison"].organization is None
    assert by_key["liaison"].categories == ("resident", "party_member")
    assert by_key["teacher"].locale == "en"
    assert by_key["lawyer"].locale is None


def test_example_roles(example: CommunityConfig) -> None:
    assert len(example.roles) == 9
    assert example.roles[0] == RoleEntry(member="secretary", role="admin", scope="community")
    assert RoleEntry("venue_planner", "station_staff", "station:huaying") in example.roles
    assert RoleEntry("integration_officer", "station_staff", "community") in example.roles
    assert RoleEntry("teacher", "club_leader", "club:kangaroo_class") in example.roles


# --- what is accepted ---------------------------------------------------------


def test_minimal_file_has_defaults() -> None:
    config = parse_config(HEAD)
    assert config.community.key == "hr"
    assert config.community.name == LocalizedText.plain("华融")
    assert config.community.timezone == "Asia/Shanghai"
    assert config.community.locale == "zh_CN"
    assert config.categories == ()
    assert config.stations == ()
    assert config.organizations == ()
    assert config.members == ()
    assert config.roles == ()


def test_name_as_plain_string_or_language_table() -> None:
    config = parse_config(
        HEAD
        + """
[[stations]]
key = "plain"
name = "华英驿站"

[[stations]]
key = "table"
name = { zh_CN = "华英驿站", en = "Huaying station" }
"""
    )
    plain, table = config.stations
    assert plain.name.get("en") == plain.name.get("zh_CN") == "华英驿站"
    assert table.name.get("zh_CN") == "华英驿站"
    assert table.name.get("en") == "Huaying station"


def test_name_table_with_one_language() -> None:
    config = parse_config('[community]\nkey = "hr"\nname = { en = "Tower" }\n')
    assert config.community.name.get("zh_CN") == "Tower"


@pytest.mark.parametrize(("written", "stored"), [("29", "29"), ('"B1"', "B1"), ("-2", "-2")])
def test_floor_as_number_or_text(written: str, stored: str) -> None:
    text = HEAD + f'\n[[stations]]\nkey = "s"\nname = "S"\nfloor = {written}\n'
    text += f'\n[[organizations]]\nkey = "o"\nname = "O"\nfloor = {written}\n'
    config = parse_config(text)
    assert config.stations[0].floor == stored
    assert config.organizations[0].floor == stored


def test_full_member_entry() -> None:
    config = parse_config(
        HEAD
        + """
[[categories]]
key = "employee"
name = "员工"

[[members]]
key = "a"
name = "王芳"
organization = "anything"
categories = ["employee"]
locale = "en"
identities = [{ platform = "telegram", id = "42" }, { platform = "matrix", id = "@a:b" }]

[[roles]]
member = "a"
role = "volunteer"
"""
    )
    member = config.members[0]
    assert member.organization == "anything"
    assert member.categories == ("employee",)
    assert member.locale == "en"
    assert member.identities == (IdentityEntry("telegram", "42"), IdentityEntry("matrix", "@a:b"))
    assert config.roles == (RoleEntry("a", "volunteer", "community"),)


def test_config_is_hashable_and_comparable() -> None:
    assert parse_config(HEAD) == parse_config(HEAD)
    assert hash(parse_config(HEAD)) == hash(parse_config(HEAD))


# --- syntax and structure -----------------------------------------------------


def test_toml_syntax_error() -> None:
    problem = only_problem("[community\nkey = 1\n")
    assert (problem.where, problem.key) == ("-", "config.syntax")
    assert "line 1" in problem.params["detail"]


def test_repeated_toml_key_is_a_syntax_error() -> None:
    problem = only_problem('[community]\nkey = "hr"\nkey = "other"\nname = "X"\n')
    assert problem.key == "config.syntax"


@pytest.mark.parametrize("text", ["", 'title = "x"\n', "community = 5\n", 'community = "hr"\n'])
def test_missing_community_section(text: str) -> None:
    problem = only_problem(text)
    assert (problem.where, problem.key) == ("community", "config.missing_key")


@pytest.mark.parametrize(("missing", "kept"), [("key", 'name = "X"'), ("name", 'key = "hr"')])
def test_missing_community_key(missing: str, kept: str) -> None:
    problem = only_problem(f"[community]\n{kept}\n")
    assert (problem.where, problem.key) == (f"community.{missing}", "config.missing_key")


def test_missing_keys_in_entries() -> None:
    text = HEAD + '\n[[members]]\nkey = "a"\n\n[[roles]]\nrole = "admin"\n'
    assert sorted(places(text)) == [
        ("members[0].name", "config.missing_key"),
        ("roles[0].member", "config.missing_key"),
    ]


def test_unknown_key_at_top_level() -> None:
    problem = only_problem('database = "sqlite:///x.db"\n' + HEAD)
    assert (problem.where, problem.key) == ("database", "config.unknown_key")
    assert problem.params == {"key": "database"}


def test_unknown_key_in_community() -> None:
    problem = only_problem(HEAD + 'colour = "red"\n')
    assert (problem.where, problem.key) == ("community.colour", "config.unknown_key")


def test_unknown_key_in_a_member() -> None:
    problem = only_problem(HEAD + MEMBER + 'nickname = "芳芳"\n')
    assert (problem.where, problem.key) == ("members[0].nickname", "config.unknown_key")
    assert problem.params == {"key": "nickname"}


def test_unknown_key_deep_inside_a_member() -> None:
    text = HEAD + MEMBER + MEMBER.replace('"a"', '"b"')
    text += 'identities = [{ platform = "telegram", id = "1", verified = true }]\n'
    problem = only_problem(text)
    assert problem.where == "members[1].identities[0].verified"
    assert problem.key == "config.unknown_key"


def test_unknown_keys_are_each_reported() -> None:
    text = HEAD + MEMBER + 'organisation = "x"\nnick = "y"\n'
    assert places(text) == [
        ("members[0].nick", "config.unknown_key"),
        ("members[0].organisation", "config.unknown_key"),
    ]


def test_british_spelling_is_an_unknown_key() -> None:
    problem = only_problem('[[organisations]]\nkey = "a"\nname = "A"\n' + HEAD)
    assert problem.where == "organisations"


# --- wrong types --------------------------------------------------------------


STATION_S = HEAD + '[[stations]]\nkey = "s"\nname = "S"\n'
ORGANIZATION_O = HEAD + '[[organizations]]\nkey = "o"\nname = "O"\n'


@pytest.mark.parametrize(
    ("text", "where", "expected", "got"),
    [
        (
            ORGANIZATION_O + 'has_party_branch = "yes"\n',
            "organizations[0].has_party_branch",
            "boolean",
            "str",
        ),
        (
            ORGANIZATION_O + "has_party_branch = 1\n",
            "organizations[0].has_party_branch",
            "boolean",
            "int",
        ),
        ('[community]\nkey = "hr"\nname = 5\n', "community.name", "text", "int"),
        ('[community]\nkey = "hr"\nname = {}\n', "community.name", "text", "dict"),
        ('[community]\nkey = "hr"\nname = { en = 5 }\n', "community.name", "string", "int"),
        ('[community]\nkey = 7\nname = "X"\n', "community.key", "string", "int"),
        ('[community]\nkey = true\nname = "X"\n', "community.key", "string", "bool"),
        (HEAD + "timezone = 8\n", "community.timezone", "string", "int"),
        (STATION_S + "floor = true\n", "stations[0].floor", "floor", "bool"),
        (STATION_S + "floor = 2.5\n", "stations[0].floor", "floor", "float"),
        (STATION_S + "floor = [29]\n", "stations[0].floor", "floor", "list"),
        (STATION_S + "description = 3\n", "stations[0].description", "text", "int"),
        (ORGANIZATION_O + "floor = false\n", "organizations[0].floor", "floor", "bool"),
        (ORGANIZATION_O + "industry = 3\n", "organizations[0].industry", "string", "int"),
        (
            HEAD + '[[organizations]]\nkey = "o"\nname = { en = "O" }\n',
            "organizations[0].name",
            "string",
            "dict",
        ),
        (HEAD + '[[members]]\nkey = "a"\nname = 3\n', "members[0].name", "string", "int"),
        (HEAD + MEMBER + "categories = [1]\n", "members[0].categories[0]", "string", "int"),
        (
            HEAD + MEMBER + 'identities = [{ platform = "telegram", id = 42 }]\n',
            "members[0].identities[0].id",
            "string",
            "int",
        ),
        (HEAD + '[[roles]]\nmember = "a"\nrole = 1\n', "roles[0].role", "string", "int"),
    ],
    ids=lambda value: "toml" if isinstance(value, str) and "\n" in value else None,
)
def test_wrong_types(text: str, where: str, expected: str, got: str) -> None:
    problem = only_problem(text)
    assert (problem.where, problem.key) == (where, "config.wrong_type")
    assert problem.params == {"expected": expected, "got": got}
    assert problem.translated == {"expected": "type"}
    assert has_key(f"type.{expected}", "en")
    assert has_key(f"type.{expected}", "zh_CN")


@pytest.mark.parametrize(
    ("text", "where", "expected"),
    [
        (HEAD + MEMBER + 'categories = "party_member"\n', "members[0].categories", "array"),
        (HEAD + MEMBER + 'identities = "telegram:1"\n', "members[0].identities", "array"),
        (HEAD + MEMBER + 'identities = ["telegram:1"]\n', "members[0].identities[0]", "table"),
        ('members = "a"\n' + HEAD, "members", "array"),
        ('members = [1]\n' + HEAD, "members[0]", "table"),
        ('categories = ["x"]\n' + HEAD, "categories[0]", "table"),
        ('stations = [1]\n' + HEAD, "stations[0]", "table"),
        ('organizations = [true]\n' + HEAD, "organizations[0]", "table"),
        ('roles = ["secretary admin"]\n' + HEAD, "roles[0]", "table"),
        (HEAD + '[members]\nkey = "a"\nname = "A"\n', "members", "array"),
    ],
    ids=lambda value: "toml" if isinstance(value, str) and "\n" in value else None,
)  # fmt: skip
def test_wrong_shapes_are_wrong_types(text: str, where: str, expected: str) -> None:
    problem = only_problem(text)
    assert (problem.where, problem.key) == (where, "config.wrong_type")
    assert problem.params["expected"] == expected
    assert has_key(f"type.{expected}", "en")
    assert has_key(f"type.{expected}", "zh_CN")


# --- values -------------------------------------------------------------------


def test_unknown_locale_in_a_name_table() -> None:
    problem = only_problem('[community]\nkey = "hr"\nname = { zh_CN = "华融", fr = "Huarong" }\n')
    assert (problem.where, problem.key) == ("community.name", "config.unknown_locale")
    assert problem.params == {"value": "fr"}


def test_unknown_locale_of_the_community_and_of_a_member() -> None:
    text = HEAD + 'locale = "zh_TW"\n' + MEMBER + 'locale = "de"\n'
    assert places(text) == [
        ("community.locale", "config.unknown_locale"),
        ("members[0].locale", "config.unknown_locale"),
    ]


def test_bad_timezone() -> None:
    problem = only_problem(HEAD + 'timezone = "Mars/Olympus_Mons"\n')
    assert (problem.where, problem.key) == ("community.timezone", "config.unknown_timezone")
    assert problem.params == {"value": "Mars/Olympus_Mons"}


@pytest.mark.parametrize("bad", ["HR", "1hr", "hr tower", "", "华融", "hr.tower", "h" * 64])
def test_bad_community_key(bad: str) -> None:
    problem = only_problem(f'[community]\nkey = "{bad}"\nname = "X"\n')
    assert (problem.where, problem.key) == ("community.key", "config.bad_key")
    assert problem.params == {"value": bad}


def test_key_with_a_final_newline_is_bad() -> None:
    problem = only_problem('[community]\nkey = "hr\\n"\nname = "X"\n')
    assert (problem.where, problem.key) == ("community.key", "config.bad_key")
    assert problem.params == {"value": "hr\n"}


def test_platform_with_a_final_newline_is_bad() -> None:
    problem = only_problem(
        HEAD + MEMBER + 'identities = [{ platform = "telegram\\n", id = "1" }]\n'
    )
    assert (problem.where, problem.key) == (
        "members[0].identities[0].platform",
        "config.bad_platform",
    )


def test_bad_entry_keys_name_their_entry() -> None:
    text = (
        HEAD
        + '[[categories]]\nkey = "Party"\nname = "P"\n'
        + '[[stations]]\nkey = "ok"\nname = "S"\n'
        + '[[stations]]\nkey = "29F"\nname = "S"\n'
        + '[[organizations]]\nkey = "a b"\nname = "O"\n'
        + '[[members]]\nkey = "王"\nname = "王"\n'
    )
    assert places(text) == [
        ("categories[0].key", "config.bad_key"),
        ("stations[1].key", "config.bad_key"),
        ("organizations[0].key", "config.bad_key"),
        ("members[0].key", "config.bad_key"),
    ]


@pytest.mark.parametrize("kind", ["categories", "stations", "organizations", "members"])
def test_duplicate_entry_keys(kind: str) -> None:
    entry = f'[[{kind}]]\nkey = "same"\nname = "{{}}"\n'
    problem = only_problem(HEAD + entry.format("A") + entry.format("B"))
    assert (problem.where, problem.key) == (kind, "config.duplicate")
    assert problem.params == {"value": "same"}


def test_duplicate_organization_names() -> None:
    entry = '[[organizations]]\nkey = "{}"\nname = "新华保险"\n'
    problem = only_problem(HEAD + entry.format("a") + entry.format("b"))
    assert (problem.where, problem.key) == ("organizations", "config.duplicate")
    assert problem.params == {"value": "新华保险"}


def test_duplicate_role_grants() -> None:
    grant = '[[roles]]\nmember = "a"\nrole = "admin"\n'
    problem = only_problem(HEAD + MEMBER + grant + grant + 'scope = "community"\n')
    assert (problem.where, problem.key) == ("roles", "config.duplicate")


def test_duplicate_identities_across_members() -> None:
    identity = 'identities = [{ platform = "telegram", id = "42" }]\n'
    text = HEAD + MEMBER + identity + MEMBER.replace('"a"', '"b"') + identity
    problem = only_problem(text)
    assert (problem.where, problem.key) == ("members", "config.duplicate")
    assert problem.params == {"value": "telegram:42"}


def test_same_id_on_different_platforms_is_fine() -> None:
    text = HEAD + MEMBER + 'identities = [{ platform = "telegram", id = "42" }]\n'
    text += MEMBER.replace('"a"', '"b"') + 'identities = [{ platform = "matrix", id = "42" }]\n'
    assert len(parse_config(text).members) == 2


def test_bad_platform() -> None:
    text = HEAD + MEMBER + 'identities = [{ platform = "Tele gram", id = "1" }]\n'
    problem = only_problem(text)
    assert problem.where == "members[0].identities[0].platform"
    assert problem.key == "config.bad_platform"


def test_unknown_category_on_a_member() -> None:
    text = HEAD + '[[categories]]\nkey = "employee"\nname = "E"\n' + MEMBER
    text += 'categories = ["employee", "alien"]\n'
    problem = only_problem(text)
    assert (problem.where, problem.key) == ("members[0].categories", "config.unknown_category")
    assert problem.params == {"value": "alien"}


# --- roles --------------------------------------------------------------------

STATION = '[[stations]]\nkey = "huaying"\nname = "华英驿站"\n'


def role_problem(member: str, role: str, scope: str | None = None) -> Problem:
    grant = f'[[roles]]\nmember = "{member}"\nrole = "{role}"\n'
    if scope is not None:
        grant += f'scope = "{scope}"\n'
    return only_problem(HEAD + STATION + MEMBER + grant)


def test_role_for_an_unknown_member() -> None:
    problem = role_problem("secretry", "admin")
    assert (problem.where, problem.key) == ("roles[0].member", "config.unknown_member")
    assert problem.params == {"value": "secretry"}


def test_unknown_role() -> None:
    problem = role_problem("a", "king")
    assert (problem.where, problem.key) == ("roles[0].role", "config.unknown_role")
    assert problem.params == {"value": "king"}


@pytest.mark.parametrize("scope", ["floor:29", "everywhere", "Station:huaying", "community:hr"])
def test_bad_scope(scope: str) -> None:
    problem = role_problem("a", "volunteer", scope)
    assert (problem.where, problem.key) == ("roles[0].scope", "config.bad_scope")
    assert problem.params == {"value": scope}


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        ("admin", "station:huaying"),
        ("club_leader", "community"),
        ("club_leader", "station:huaying"),
        ("guest", "station:huaying"),
        ("member", "station:huaying"),
        ("station_staff", "club:chess"),
    ],
)
def test_scope_not_allowed_for_the_role(role: str, scope: str) -> None:
    problem = role_problem("a", role, scope)
    assert (problem.where, problem.key) == ("roles[0].scope", "config.scope_not_allowed")
    assert problem.params == {"value": scope, "role": role}


def test_unknown_station() -> None:
    problem = role_problem("a", "station_staff", "station:huayin")
    assert (problem.where, problem.key) == ("roles[0].scope", "config.unknown_station")
    assert problem.params == {"value": "huayin"}


@pytest.mark.parametrize("role", ["club_leader", "volunteer", "member"])
def test_club_scopes_name_unknown_clubs_for_now(role: str) -> None:
    problem = role_problem("a", role, "club:chess")
    assert (problem.where, problem.key) == ("roles[0].scope", "config.unknown_club")
    assert problem.params == {"value": "chess"}


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        ("admin", "community"),
        ("station_staff", "community"),
        ("station_staff", "station:huaying"),
        ("volunteer", "station:huaying"),
        ("member", "community"),
        ("guest", "community"),
    ],
)
def test_allowed_grants_parse(role: str, scope: str) -> None:
    text = (
        HEAD + STATION + MEMBER + f'[[roles]]\nmember = "a"\nrole = "{role}"\nscope = "{scope}"\n'
    )
    assert parse_config(text).roles == (RoleEntry("a", role, scope),)


def test_unknown_member_and_unknown_role_in_one_grant() -> None:
    text = HEAD + '[[roles]]\nmember = "ghost"\nrole = "king"\n'
    assert places(text) == [
        ("roles[0].member", "config.unknown_member"),
        ("roles[0].role", "config.unknown_role"),
    ]


# --- all at once --------------------------------------------------------------


def test_structural_problems_are_reported_together() -> None:
    text = """\
colour = "red"

[community]
key = "hr"
name = 5

[[organizations]]
key = "o"
name = "O"
has_party_branch = "yes"

[[members]]
key = "a"
name = "A"
nickname = "x"
"""
    assert sorted(places(text)) == [
        ("colour", "config.unknown_key"),
        ("community.name", "config.wrong_type"),
        ("members[0].nickname", "config.unknown_key"),
        ("organizations[0].has_party_branch", "config.wrong_type"),
    ]


def test_content_problems_are_reported_together() -> None:
    text = """\
[community]
key = "Huarong"
name = "华融"
timezone = "Asia/Nowhere"

[[stations]]
key = "s"
name = "S"

[[members]]
key = "a"
name = "A"
categories = ["nobody"]
identities = [{ platform = "telegram", id = "1" }]

[[members]]
key = "a"
name = "B"
identities = [{ platform = "telegram", id = "1" }]

[[roles]]
member = "z"
role = "admin"

[[roles]]
member = "a"
role = "station_staff"
scope = "station:t"
"""
    assert places(text) == [
        ("community.key", "config.bad_key"),
        ("community.timezone", "config.unknown_timezone"),
        ("members", "config.duplicate"),
        ("members[0].categories", "config.unknown_category"),
        ("members", "config.duplicate"),
        ("roles[0].member", "config.unknown_member"),
        ("roles[1].scope", "config.unknown_station"),
    ]


# --- files --------------------------------------------------------------------


def test_load_config_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert caught.value.file == str(missing)
    assert [(p.where, p.key) for p in caught.value.problems] == [("-", "config.no_file")]


def test_load_config_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert [p.key for p in caught.value.problems] == ["config.unreadable"]


def test_load_config_not_utf8_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "gbk.toml"
    path.write_bytes(HEAD.encode("gbk"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [p.key for p in caught.value.problems] == ["config.unreadable"]


def test_load_config_accepts_a_bom_and_a_str_path(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(codecs.BOM_UTF8 + HEAD.encode("utf-8"))
    assert load_config(str(path)).community.name.get("en") == "华融"


def test_load_config_names_the_file_in_problems(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(HEAD + "oops = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.file == str(path)
    assert [p.where for p in caught.value.problems] == ["community.oops"]
