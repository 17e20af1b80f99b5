"""Reading spreadsheet exports: encodings, headers in two languages, line numbers."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huarong_core.csv_files import (
    MEMBER_COLUMNS,
    ORGANIZATION_COLUMNS,
    CsvRow,
    CsvTable,
    decode,
    read_csv,
)
from huarong_core.errors import ImportRejected, Problem
from huarong_core.i18n import has_key

CHINESE = "名称,楼层,行业,党支部\n新华保险,12,保险,是\n阳光保险,B1,保险,否\n"


def write(tmp_path: Path, data: bytes, name: str = "list.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rejected(path: Path, columns: dict[str, tuple[str, ...]] | None = None) -> list[Problem]:
    with pytest.raises(ImportRejected) as caught:
        read_csv(path, ORGANIZATION_COLUMNS if columns is None else columns)
    error = caught.value
    assert error.file == str(path)
    assert error.rows == 0
    for problem in error.problems:
        assert has_key(problem.key, "en"), problem.key
        assert has_key(problem.key, "zh_CN"), problem.key
    return list(error.problems)


# --- decode -------------------------------------------------------------------


def test_decode_utf8() -> None:
    assert decode(CHINESE.encode("utf-8")) == (CHINESE, "utf-8")


def test_decode_utf8_with_bom_drops_the_bom() -> None:
    assert decode(codecs.BOM_UTF8 + CHINESE.encode("utf-8")) == (CHINESE, "utf-8-sig")


def test_decode_utf16_little_endian_with_bom() -> None:
    data = codecs.BOM_UTF16_LE + CHINESE.encode("utf-16-le")
    assert decode(data) == (CHINESE, "utf-16")


def test_decode_utf16_big_endian_with_bom() -> None:
    data = codecs.BOM_UTF16_BE + CHINESE.encode("utf-16-be")
    assert decode(data) == (CHINESE, "utf-16")


def test_decode_gbk() -> None:
    data = CHINESE.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert decode(data) == (CHINESE, "gbk")


def test_decode_gb18030_only_characters() -> None:
    text = "姓名\n㐀先生\n"  # 㐀 is outside GBK but inside GB18030
    assert decode(text.encode("gb18030")) == (text, "gbk")


def test_decode_ascii_is_utf8() -> None:
    assert decode(b"name\nAcme\n") == ("name\nAcme\n", "utf-8")


def test_decode_empty() -> None:
    assert decode(b"") == ("", "utf-8")


@given(st.text())
def test_decode_round_trips_utf8_with_bom_and_utf16(text: str) -> None:
    assert decode(codecs.BOM_UTF8 + text.encode("utf-8")) == (text, "utf-8-sig")
    assert decode(text.encode("utf-16")) == (text, "utf-16")
    assert decode(codecs.BOM_UTF16_BE + text.encode("utf-16-be")) == (text, "utf-16")


@given(st.text().filter(lambda text: not text.startswith("\ufeff")))
def test_decode_round_trips_utf8(text: str) -> None:
    assert decode(text.encode("utf-8")) == (text, "utf-8")


# --- read_csv: what is accepted -----------------------------------------------


def test_chinese_headers(tmp_path: Path) -> None:
    table = read_csv(write(tmp_path, CHINESE.encode("utf-8")), ORGANIZATION_COLUMNS)
    assert table.fields == ("name", "floor", "industry", "has_party_branch")
    assert table.encoding == "utf-8"
    assert table.rows == (
        CsvRow(
            2, {"name": "新华保险", "floor": "12", "industry": "保险", "has_party_branch": "是"}
        ),
        CsvRow(
            3, {"name": "阳光保险", "floor": "B1", "industry": "保险", "has_party_branch": "否"}
        ),
    )


def test_english_headers_any_case_and_spacing(tmp_path: Path) -> None:
    data = b" Name ,FLOOR,Industry,Party_Branch,KEY\nAcme,3,tech,yes,acme\n"
    table = read_csv(write(tmp_path, data), ORGANIZATION_COLUMNS)
    assert table.fields == ("name", "floor", "industry", "has_party_branch", "key")
    assert table.rows[0].cells == {
        "name": "Acme",
        "floor": "3",
        "industry": "tech",
        "has_party_branch": "yes",
        "key": "acme",
    }


@pytest.mark.parametrize("header", ["企业名称", "公司名称", "单位名称", "company", "Organization"])
def test_organization_name_aliases(tmp_path: Path, header: str) -> None:
    table = read_csv(write(tmp_path, f"{header}\n新华保险\n".encode()), ORGANIZATION_COLUMNS)
    assert table.fields == ("name",)
    assert table.rows[0].get("name") == "新华保险"


def test_member_headers(tmp_path: Path) -> None:
    data = "姓名,单位,类别,编号,语言,Telegram,matrix\n王芳,新华保险,党员,wangfang,zh_CN,42,@wf:hr\n"
    table = read_csv(write(tmp_path, data.encode("gbk")), MEMBER_COLUMNS)
    assert table.encoding == "gbk"
    assert table.fields == (
        "name",
        "organization",
        "categories",
        "key",
        "locale",
        "telegram",
        "matrix",
    )
    assert table.rows[0].get("telegram") == "42"
    assert table.rows[0].get("matrix") == "@wf:hr"


def test_tab_separated(tmp_path: Path) -> None:
    data = "名称\t楼层\t行业\n新华保险\t12\t保险, 金融\n"
    table = read_csv(write(tmp_path, data.encode("utf-8")), ORGANIZATION_COLUMNS)
    assert table.fields == ("name", "floor", "industry")
    assert table.rows[0].cells == {"name": "新华保险", "floor": "12", "industry": "保险, 金融"}


def test_utf16_tab_separated_as_spreadsheets_save_unicode_text(tmp_path: Path) -> None:
    data = "名称\t楼层\r\n新华保险\t12\r\n阳光保险\t15\r\n".encode("utf-16")
    table = read_csv(write(tmp_path, data), ORGANIZATION_COLUMNS)
    assert table.encoding == "utf-16"
    assert [row.cells for row in table.rows] == [
        {"name": "新华保险", "floor": "12"},
        {"name": "阳光保险", "floor": "15"},
    ]


def test_utf8_bom_header_is_recognised(tmp_path: Path) -> None:
    table = read_csv(write(tmp_path, codecs.BOM_UTF8 + CHINESE.encode()), ORGANIZATION_COLUMNS)
    assert table.encoding == "utf-8-sig"
    assert table.fields[0] == "name"


def test_blank_lines_are_skipped_and_line_numbers_kept(tmp_path: Path) -> None:
    data = "名称,楼层\n\n新华保险,12\n , \n,\n\n阳光保险,15\n\n".encode()
    table = read_csv(write(tmp_path, data), ORGANIZATION_COLUMNS)
    assert [(row.line, row.get("name")) for row in table.rows] == [(3, "新华保险"), (7, "阳光保险")]


def test_crlf_line_numbers(tmp_path: Path) -> None:
    data = b"name\r\nA\r\n\r\nB\r\n"
    table = read_csv(write(tmp_path, data), ORGANIZATION_COLUMNS)
    assert [(row.line, row.get("name")) for row in table.rows] == [(2, "A"), (4, "B")]


def test_quoted_cells(tmp_path: Path) -> None:
    data = b'name,industry\n"Acme, Inc.","say ""hi"""\n'
    table = read_csv(write(tmp_path, data), ORGANIZATION_COLUMNS)
    assert table.rows[0].cells == {"name": "Acme, Inc.", "industry": 'say "hi"'}


def test_short_and_long_rows(tmp_path: Path) -> None:
    data = b"name,floor\nA\nB,2,surplus\n"
    table = read_csv(write(tmp_path, data), ORGANIZATION_COLUMNS)
    assert [row.cells for row in table.rows] == [{"name": "A"}, {"name": "B", "floor": "2"}]
    assert table.rows[0].get("floor") == ""


def test_empty_header_cells_are_ignored(tmp_path: Path) -> None:
    data = b"name,,floor,\nA,ignored,3,also ignored\n"
    table = read_csv(write(tmp_path, data), ORGANIZATION_COLUMNS)
    assert table.fields == ("name", "floor")
    assert table.rows[0].cells == {"name": "A", "floor": "3"}


def test_row_get_trims_and_defaults() -> None:
    row = CsvRow(5, {"name": "  新华保险 \t"})
    assert row.get("name") == "新华保险"
    assert row.get("floor") == ""


def test_header_only(tmp_path: Path) -> None:
    table = read_csv(write(tmp_path, b"name,floor\n"), ORGANIZATION_COLUMNS)
    assert table == CsvTable(str(tmp_path / "list.csv"), "utf-8", ("name", "floor"), ())


def test_encoding_override(tmp_path: Path) -> None:
    path = write(tmp_path, CHINESE.encode("gbk"))
    table = read_csv(path, ORGANIZATION_COLUMNS, encoding="gb2312")
    assert table.encoding == "gb2312"
    assert table.rows[0].get("name") == "新华保险"


def test_encoding_override_wins_over_detection(tmp_path: Path) -> None:
    path = write(tmp_path, "name\nCafé\n".encode())
    table = read_csv(path, ORGANIZATION_COLUMNS, encoding="latin-1")
    assert table.rows[0].get("name") == "CafÃ©"


def test_str_path(tmp_path: Path) -> None:
    path = write(tmp_path, b"name\nA\n")
    assert read_csv(str(path), ORGANIZATION_COLUMNS).file == str(path)


# --- read_csv: what is refused ------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    problems = rejected(tmp_path / "nowhere.csv")
    assert [(p.where, p.key) for p in problems] == [("-", "import.no_file")]


def test_a_directory_is_unreadable(tmp_path: Path) -> None:
    assert [p.key for p in rejected(tmp_path)] == ["import.unreadable"]


@pytest.mark.parametrize("data", [b"", b"\n\n", b",,,\n", codecs.BOM_UTF8, b"  \n"])
def test_empty_file_has_no_header(tmp_path: Path, data: bytes) -> None:
    problems = rejected(write(tmp_path, data))
    assert [(p.where, p.key) for p in problems] == [("-", "import.no_header")]


def test_unknown_column(tmp_path: Path) -> None:
    problems = rejected(write(tmp_path, "名称,颜色\nA,红\n".encode()))
    assert problems == [Problem("column 2", "import.unknown_column", {"value": "颜色"})]


def test_duplicate_column_even_under_another_alias(tmp_path: Path) -> None:
    problems = rejected(write(tmp_path, "name,floor,名称\nA,1,B\n".encode()))
    assert problems == [Problem("column 3", "import.duplicate_column", {"value": "名称"})]


def test_missing_required_column(tmp_path: Path) -> None:
    problems = rejected(write(tmp_path, "楼层,行业\n12,保险\n".encode()))
    assert problems == [Problem("-", "import.missing_column", {"value": "name"})]


def test_member_columns_are_not_organization_columns(tmp_path: Path) -> None:
    problems = rejected(write(tmp_path, "姓名,楼层\n王芳,3\n".encode()), dict(MEMBER_COLUMNS))
    assert [(p.where, p.key) for p in problems] == [("column 2", "import.unknown_column")]


def test_every_header_problem_is_reported_together(tmp_path: Path) -> None:
    problems = rejected(write(tmp_path, b"colour,floor,Floor,size\nred,1,2,3\n"))
    assert problems == [
        Problem("column 1", "import.unknown_column", {"value": "colour"}),
        Problem("column 3", "import.duplicate_column", {"value": "Floor"}),
        Problem("column 4", "import.unknown_column", {"value": "size"}),
        Problem("-", "import.missing_column", {"value": "name"}),
    ]


def test_wrong_encoding_override(tmp_path: Path) -> None:
    path = write(tmp_path, CHINESE.encode("gbk"))
    with pytest.raises(ImportRejected) as caught:
        read_csv(path, ORGANIZATION_COLUMNS, encoding="utf-8")
    assert [p.key for p in caught.value.problems] == ["import.encoding"]
    assert caught.value.problems[0].params["detail"]


def test_unknown_encoding_name(tmp_path: Path) -> None:
    path = write(tmp_path, b"name\nA\n")
    with pytest.raises(ImportRejected) as caught:
        read_csv(path, ORGANIZATION_COLUMNS, encoding="klingon")
    assert [p.key for p in caught.value.problems] == ["import.encoding"]


def test_malformed_csv_names_the_line(tmp_path: Path) -> None:
    huge = b'"' + b"x" * 200_000 + b'"'
    path = write(tmp_path, b"name,floor\nA,1\n" + huge + b",2\n")
    with pytest.raises(ImportRejected) as caught:
        read_csv(path, ORGANIZATION_COLUMNS)
    assert [p.key for p in caught.value.problems] == ["import.malformed"]
    assert caught.value.problems[0].params["detail"].startswith("line 3:")


def test_malformed_header(tmp_path: Path) -> None:
    path = write(tmp_path, b'"' + b"x" * 200_000 + b'"\n')
    with pytest.raises(ImportRejected) as caught:
        read_csv(path, ORGANIZATION_COLUMNS)
    assert [p.key for p in caught.value.problems] == ["import.malformed"]


# --- every alias maps to exactly one field ------------------------------------


@pytest.mark.parametrize("columns", [ORGANIZATION_COLUMNS, MEMBER_COLUMNS])
def test_aliases_are_unambiguous(columns: dict[str, tuple[str, ...]]) -> None:
    aliases = [alias.casefold() for names in columns.values() for alias in names]
    assert len(aliases) == len(set(aliases))
    assert "name" in columns
