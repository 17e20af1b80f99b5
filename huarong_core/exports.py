"""Tables of the points economy and the audit log, for spreadsheets.

Pure functions from a query's answer to a `Table`: a header of English
snake_case column names (machine-readable, the same in every language) and
rows of plain values. The CLI prints them as aligned text or writes them to
a CSV file; the web serves them as `?format=csv`. One place decides what a
statement or a report looks like as rows, so the two cannot drift apart.

`to_csv` writes a table as RFC 4180 CSV in UTF-8 with a byte-order mark:
these files are opened by building offices and companies in spreadsheet
programs, which read UTF-8 Chinese correctly only with one. A cell of text
that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab or a
carriage return first) is written with a leading `'`, so a display name such
as `=HYPERLINK(...)` stays text (OWASP "CSV injection"); numbers, even signed
ones like `+5`, are left as they are.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from datetime import tzinfo
from typing import Any

import attrs

from huarong_core.commands import Leaderboard, OrganizationReport, PointsStatement
from huarong_core.domain.audit import AuditEntry

__all__ = [
    "Table",
    "audit_table",
    "leaderboard_table",
    "organization_report_table",
    "statement_table",
    "to_csv",
]

Cell = str | int


@attrs.frozen
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def text_rows(self) -> list[list[str]]:
        """Every cell as text (for the CLI's aligned tables)."""
        return [[str(cell) for cell in row] for row in self.rows]


def statement_table(statement: PointsStatement, tz: tzinfo) -> Table:
    """A member's ledger lines, newest first, times in the community's zone."""
    return Table(
        ("id", "time", "kind", "reason", "delta", "balance"),
        tuple(
            (
                e.id,
                e.occurred_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                e.kind,
                e.reason,
                f"{e.delta:+d}",
                "" if e.balance_after is None else e.balance_after,
            )
            for e in statement.entries
        ),
    )


def organization_report_table(report: OrganizationReport) -> Table:
    """One row per person: awards per kind of activity (a column each, the kinds seen
    in the period, sorted), points earned and spent in the period, balance now."""
    kinds = sorted({kind for row in report.rows for kind in row.activities})
    return Table(
        ("member_id", "name", *kinds, "points_earned", "points_spent", "balance"),
        tuple(
            (
                row.member_id,
                row.display_name,
                *(row.activities.get(kind, 0) for kind in kinds),
                row.points_earned,
                row.points_spent,
                row.balance,
            )
            for row in report.rows
        ),
    )


def leaderboard_table(board: Leaderboard) -> Table:
    return Table(
        ("rank", "member_id", "name", "score"),
        tuple((e.rank, e.member_id, e.display_name, e.score) for e in board.entries),
    )


def audit_table(entries: Iterable[AuditEntry], tz: tzinfo) -> Table:
    """Audit entries as given (newest first); details as JSON with sorted keys."""
    return Table(
        ("id", "time", "actor", "action", "target", "details"),
        tuple(
            (
                e.id,
                e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
                e.actor.label,
                e.action,
                e.target,
                json.dumps(e.details, ensure_ascii=False, sort_keys=True),
            )
            for e in entries
        ),
    )


_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(cell: Any) -> Any:
    if isinstance(cell, str) and cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def to_csv(table: Table, *, bom: bool = True) -> str:
    """The table as CSV text (`bom`: start with U+FEFF, for spreadsheet programs)."""
    buffer = io.StringIO()
    if bom:
        buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.header)
    writer.writerows([_safe(cell) for cell in row] for row in table.rows)
    return buffer.getvalue()
