"""Storage of the service catalogue of each station, service requests and their workflow."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from huarong_core.domain.services import (
    Affair,
    EntryKind,
    FieldType,
    FormField,
    RequestEntry,
    Requester,
    RequestState,
    Service,
    ServiceRequest,
)
from huarong_core.domain.text import LocalizedText
from huarong_core.storage.base import Connection, Row
from huarong_core.storage.codec import (
    as_datetime,
    as_optional_datetime,
    dumps,
    loads,
    optional_text,
)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _field_data(field: FormField) -> dict[str, Any]:
    return {
        "key": field.key,
        "label": field.label.as_dict(),
        "type": field.type.value,
        "required": field.required,
        "choices": list(field.choices),
    }


def _service(row: Row) -> Service:
    name = optional_text(row["name"])
    assert name is not None
    return Service(
        key=row["key"],
        station=row["station"],
        name=name,
        affair=Affair(row["affair"]),
        sla_hours=int(row["sla_hours"]),
        open_to=frozenset(Requester(v) for v in loads(row["open_to"])),
        form=tuple(
            FormField(
                f["key"],
                LocalizedText(f["label"]),
                FieldType(f["type"]),
                bool(f["required"]),
                tuple(f["choices"]),
            )
            for f in loads(row["form"])
        ),
        description=optional_text(row["description"]),
        enabled=bool(row["enabled"]),
    )


def _request(row: Row) -> ServiceRequest:
    return ServiceRequest(
        id=int(row["id"]),
        service_key=row["service_key"],
        station=row["station"],
        affair=Affair(row["affair"]),
        requester_id=int(row["requester_id"]),
        organization_id=_optional_int(row["organization_id"]),
        answers=dict(loads(row["answers"])),
        state=RequestState(row["state"]),
        sla_hours=int(row["sla_hours"]),
        due_at=as_datetime(row["due_at"]),
        submitted_at=as_datetime(row["submitted_at"]),
        updated_at=as_datetime(row["updated_at"]),
        assignee_id=_optional_int(row["assignee_id"]),
        accepted_at=as_optional_datetime(row["accepted_at"]),
        first_resolved_at=as_optional_datetime(row["first_resolved_at"]),
        resolved_at=as_optional_datetime(row["resolved_at"]),
        closed_at=as_optional_datetime(row["closed_at"]),
        reopen_count=int(row["reopen_count"]),
        visit_at=as_optional_datetime(row["visit_at"]),
        sla_breached_at=as_optional_datetime(row["sla_breached_at"]),
        rating=_optional_int(row["rating"]),
        rating_comment=row["rating_comment"],
        rated_at=as_optional_datetime(row["rated_at"]),
    )


def _entry(row: Row) -> RequestEntry:
    from_state, to_state = row["from_state"], row["to_state"]
    return RequestEntry(
        id=int(row["id"]),
        request_id=int(row["request_id"]),
        kind=EntryKind(row["kind"]),
        at=as_datetime(row["at"]),
        author=row["author"],
        author_id=_optional_int(row["author_id"]),
        text=row["body"],
        from_state=None if from_state is None else RequestState(from_state),
        to_state=None if to_state is None else RequestState(to_state),
        assignee_id=_optional_int(row["assignee_id"]),
        visit_at=as_optional_datetime(row["visit_at"]),
    )


@attrs.frozen
class QueueFilter:
    """Which requests a queue shows; `stations=None` means every station."""

    stations: frozenset[str] | None = None
    state: RequestState | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    requester_id: int | None = None


# Columns a request update writes (everything that changes after submission).
_MUTABLE = (
    "state",
    "assignee_id",
    "updated_at",
    "accepted_at",
    "first_resolved_at",
    "resolved_at",
    "closed_at",
    "reopen_count",
    "visit_at",
    "sla_breached_at",
    "rating",
    "rating_comment",
    "rated_at",
)


class RequestRepository:
    def __init__(self, conn: Connection, community_id: int) -> None:
        self._conn = conn
        self._cid = community_id

    # --- the catalogue ---------------------------------------------------------

    async def service(self, key: str) -> Service | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM services WHERE community_id = $1 AND key = $2", self._cid, key
        )
        return None if row is None else _service(row)

    async def services(self) -> list[Service]:
        rows = await self._conn.fetch(
            "SELECT * FROM services WHERE community_id = $1 ORDER BY station, key", self._cid
        )
        return [_service(r) for r in rows]

    async def service_sources(self) -> dict[str, str]:
        """Each service's source (`config` or `admin`): the file disables only its own."""
        rows = await self._conn.fetch(
            "SELECT key, source FROM services WHERE community_id = $1", self._cid
        )
        return {r["key"]: r["source"] for r in rows}

    async def save_service(self, service: Service, source: str, now: datetime) -> None:
        description = None if service.description is None else service.description.as_dict()
        await self._conn.execute(
            "INSERT INTO services (community_id, key, station, name, description, affair,"
            " open_to, form, sla_hours, enabled, source, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            " ON CONFLICT (community_id, key) DO UPDATE SET station = excluded.station,"
            " name = excluded.name, description = excluded.description,"
            " affair = excluded.affair, open_to = excluded.open_to, form = excluded.form,"
            " sla_hours = excluded.sla_hours, enabled = excluded.enabled,"
            " source = excluded.source, updated_at = excluded.updated_at",
            self._cid,
            service.key,
            service.station,
            dumps(service.name.as_dict()),
            None if description is None else dumps(description),
            service.affair.value,
            dumps(sorted(service.open_to)),
            dumps([_field_data(f) for f in service.form]),
            service.sla_hours,
            service.enabled,
            source,
            now,
        )

    # --- requests --------------------------------------------------------------

    async def insert(self, draft: ServiceRequest) -> ServiceRequest:
        row = await self._conn.fetchrow(
            "INSERT INTO service_requests (community_id, service_key, station, affair,"
            " requester_id, organization_id, answers, state, sla_hours, due_at, submitted_at,"
            " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)"
            " RETURNING *",
            self._cid,
            draft.service_key,
            draft.station,
            draft.affair.value,
            draft.requester_id,
            draft.organization_id,
            dumps(draft.answers),
            draft.state.value,
            draft.sla_hours,
            draft.due_at,
            draft.submitted_at,
        )
        assert row is not None
        return _request(row)

    async def get(self, request_id: int) -> ServiceRequest | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM service_requests WHERE community_id = $1 AND id = $2",
            self._cid,
            request_id,
        )
        return None if row is None else _request(row)

    async def update(self, request: ServiceRequest) -> None:
        """Write the fields that change after submission (the caller holds the request's lock)."""
        sets = ", ".join(f"{column} = ${n}" for n, column in enumerate(_MUTABLE, start=3))
        values = [getattr(request, column) for column in _MUTABLE]
        values[0] = request.state.value
        await self._conn.execute(
            f"UPDATE service_requests SET {sets} WHERE community_id = $1 AND id = $2",
            self._cid,
            request.id,
            *values,
        )

    async def page(
        self, queue: QueueFilter, *, offset: int, limit: int
    ) -> tuple[list[ServiceRequest], int]:
        where = ["community_id = $1"]
        args: list[object] = [self._cid]
        if queue.stations is not None:
            if not queue.stations:
                return [], 0
            first = len(args) + 1
            args.extend(sorted(queue.stations))
            marks = ", ".join(f"${n}" for n in range(first, len(args) + 1))
            where.append(f"station IN ({marks})")
        if queue.state is not None:
            args.append(queue.state.value)
            where.append(f"state = ${len(args)}")
        if queue.assignee_id is not None:
            args.append(queue.assignee_id)
            where.append(f"assignee_id = ${len(args)}")
        if queue.unassigned:
            where.append("assignee_id IS NULL")
        if queue.requester_id is not None:
            args.append(queue.requester_id)
            where.append(f"requester_id = ${len(args)}")
        clause = " AND ".join(where)
        total = await self._conn.fetchval(
            f"SELECT COUNT(*) AS n FROM service_requests WHERE {clause}", *args
        )
        rows = await self._conn.fetch(
            f"SELECT * FROM service_requests WHERE {clause} ORDER BY id"
            f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
            *args,
            limit,
            offset,
        )
        return [_request(r) for r in rows], int(total)

    async def submitted_between(
        self, start: datetime, end: datetime, station: str | None, affair: Affair | None
    ) -> list[ServiceRequest]:
        """Requests submitted in `[start, end)`, optionally of one station and affair."""
        where = ["community_id = $1", "submitted_at >= $2", "submitted_at < $3"]
        args: list[object] = [self._cid, start, end]
        if station is not None:
            args.append(station)
            where.append(f"station = ${len(args)}")
        if affair is not None:
            args.append(affair.value)
            where.append(f"affair = ${len(args)}")
        rows = await self._conn.fetch(
            f"SELECT * FROM service_requests WHERE {' AND '.join(where)} ORDER BY id", *args
        )
        return [_request(r) for r in rows]

    # --- the thread ------------------------------------------------------------

    async def add_entry(self, entry: RequestEntry) -> RequestEntry:
        row = await self._conn.fetchrow(
            "INSERT INTO service_request_entries (community_id, request_id, kind, at, author,"
            " author_id, body, from_state, to_state, assignee_id, visit_at, internal)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *",
            self._cid,
            entry.request_id,
            entry.kind.value,
            entry.at,
            entry.author,
            entry.author_id,
            entry.text,
            None if entry.from_state is None else entry.from_state.value,
            None if entry.to_state is None else entry.to_state.value,
            entry.assignee_id,
            entry.visit_at,
            entry.internal,
        )
        assert row is not None
        return _entry(row)

    async def entries(self, request_id: int, *, internal: bool) -> list[RequestEntry]:
        """The thread, oldest first; without `internal`, notes and SLA alerts are left out."""
        visible = "" if internal else " AND internal = $3"
        args: Sequence[object] = (
            (self._cid, request_id) if internal else (self._cid, request_id, False)
        )
        rows = await self._conn.fetch(
            "SELECT * FROM service_request_entries WHERE community_id = $1"
            f" AND request_id = $2{visible} ORDER BY id",
            *args,
        )
        return [_entry(r) for r in rows]
