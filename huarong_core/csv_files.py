"""Reading the lists a building office keeps: CSV from spreadsheets.

Spreadsheet tools write UTF-8 (often with a BOM), UTF-16 ("Unicode text"),
or, in Chinese locales, GBK. We accept all of them, map English or Chinese
column headers to fields, and keep each row's line number for reports. Only
the file's shape is judged here; the values are judged by the import
service, so every rule lives in one place.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Mapping
from pathlib import Path

import attrs

from huarong_core.commands import MemberRow, OrganizationRow
from huarong_core.errors import ImportRejected, Problem

ORGANIZATION_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "name": (
        "name",
        "organization",
        "company",
        "名称",
        "企业名称",
        "公司名称",
        "单位名称",
        "企业",
        "公司",
        "单位",
    ),
    "key": ("key", "code", "编号", "代码"),
    "floor": ("floor", "楼层", "所在楼层"),
    "industry": ("industry", "行业", "所属行业"),
    "has_party_branch": (
        "has_party_branch",
        "party_branch",
        "党支部",
        "是否有党支部",
        "有无党支部",
        "是否建立党支部",
    ),
}

MEMBER_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "name": ("name", "display_name", "姓名", "名字"),
    "key": ("key", "code", "编号", "工号"),
    "organization": (
        "organization",
        "company",
        "单位",
        "公司",
        "企业",
        "所在单位",
        "所在企业",
        "工作单位",
    ),
    "categories": ("categories", "category", "类别", "身份", "人员类别"),
    "locale": ("locale", "language", "语言"),
    "telegram": ("telegram",),
    "matrix": ("matrix",),
}

REQUIRED = ("name",)
IDENTITY_COLUMNS = ("telegram", "matrix")


@attrs.frozen
class CsvRow:
    line: int
    cells: Mapping[str, str]

    def get(self, field: str) -> str:
        return self.cells.get(field, "").strip()


@attrs.frozen
class CsvTable:
    file: str
    encoding: str
    fields: tuple[str, ...]
    rows: tuple[CsvRow, ...]


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was in: BOMs first, then UTF-8, then GB18030 (GBK's superset)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gb18030"), "gbk"


def _reject(file: str, key: str, **params: str) -> ImportRejected:
    return ImportRejected(file=file, rows=0, problems=(Problem("-", key, dict(params)),))


def read_csv(
    path: str | Path, columns: Mapping[str, tuple[str, ...]], *, encoding: str | None = None
) -> CsvTable:
    """Read a CSV file into rows keyed by field; raise `ImportRejected` for a bad file."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise _reject(file, "import.no_file") from None
    except OSError as exc:
        raise _reject(file, "import.unreadable", detail=str(exc)) from None
    try:
        text, used = (data.decode(encoding), encoding) if encoding else decode(data)
    except (UnicodeDecodeError, LookupError) as exc:
        raise _reject(file, "import.encoding", detail=str(exc)) from None
    dialect = _sniff(text)
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise _reject(file, "import.malformed", detail=str(exc)) from None
    if not header or not any(h.strip() for h in header):
        raise _reject(file, "import.no_header")
    fields = _map_header(file, header, columns)
    rows: list[CsvRow] = []
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            cells = {field: value for field, value in zip(fields, record, strict=False) if field}
            rows.append(CsvRow(reader.line_num, cells))
    except csv.Error as exc:
        raise _reject(file, "import.malformed", detail=f"line {reader.line_num}: {exc}") from None
    return CsvTable(file, used, tuple(f for f in fields if f), tuple(rows))


def _sniff(text: str) -> type[csv.Dialect] | csv.Dialect:
    first_line = text.split("\n", 1)[0]
    if "\t" in first_line and "," not in first_line:
        return csv.excel_tab
    return csv.excel


def _map_header(file: str, header: list[str], columns: Mapping[str, tuple[str, ...]]) -> list[str]:
    lookup = {alias.casefold(): field for field, aliases in columns.items() for alias in aliases}
    fields: list[str] = []
    problems: list[Problem] = []
    for index, raw in enumerate(header, start=1):
        name = raw.strip()
        if not name:
            fields.append("")
            continue
        field = lookup.get(name.casefold())
        if field is None:
            problems.append(Problem(f"column {index}", "import.unknown_column", {"value": name}))
        elif field in fields:
            problems.append(Problem(f"column {index}", "import.duplicate_column", {"value": name}))
        fields.append(field or "")
    for field in REQUIRED:
        if field not in fields:
            problems.append(Problem("-", "import.missing_column", {"value": field}))
    if problems:
        raise ImportRejected(file=file, rows=0, problems=tuple(problems))
    return fields


def organization_rows(table: CsvTable) -> tuple[OrganizationRow, ...]:
    """The rows of an organizations list, as the import command takes them."""
    return tuple(
        OrganizationRow(
            row.line,
            row.get("name"),
            row.get("key"),
            row.get("floor"),
            row.get("industry"),
            row.get("has_party_branch"),
        )
        for row in table.rows
    )


def member_rows(table: CsvTable) -> tuple[MemberRow, ...]:
    """The rows of a members list; platform columns become identities to link."""
    return tuple(
        MemberRow(
            row.line,
            row.get("name"),
            row.get("key"),
            row.get("organization"),
            row.get("categories"),
            row.get("locale"),
            tuple((p, row.get(p)) for p in IDENTITY_COLUMNS if row.get(p)),
        )
        for row in table.rows
    )
