"""A nio event as the plain record the inbox keeps (JSON, replayable after a restart).

Decrypted events are kept decrypted: the command in them is what the
community acts on, and the database already holds every effect of it. An
event the bot could not decrypt is kept whole, so that it can be tried
again when its key arrives and its sender's devices can be asked for it.
"""

from __future__ import annotations

from typing import Any

from nio import MegolmEvent


def stored_event(room_id: str, event: Any) -> dict[str, Any] | None:
    """The record of one timeline event, or None for one without an id (never a command)."""
    source = getattr(event, "source", None)
    if not isinstance(source, dict) or not isinstance(source.get("event_id"), str):
        return None
    undecryptable = isinstance(event, MegolmEvent)
    unsigned = source.get("unsigned") or {}
    previous = unsigned.get("prev_content") or {}
    record: dict[str, Any] = {
        "room_id": room_id,
        "event_id": source["event_id"],
        "sender": str(source.get("sender", "")),
        "type": str(source.get("type", "")),
        "content": source.get("content") or {},
        "state_key": source.get("state_key"),
        "prev_membership": previous.get("membership") if isinstance(previous, dict) else None,
        "encrypted": bool(getattr(event, "decrypted", False)),
        "undecryptable": undecryptable,
    }
    if undecryptable:
        record["source"] = source
    return record
