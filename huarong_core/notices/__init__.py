"""Notifications: events turned into messages for the people they concern.

`values` holds what a notice is (and is safe to import from anywhere);
`renderers` decides, per event kind, who hears what; `relay` is the
`NotificationRelay` that writes the notification rows a `DeliveryWorker`
sends. The package itself imports only the values, so storage code can use
them without pulling in the rest.
"""

from __future__ import annotations

from huarong_core.notices.values import (
    ChatRecipient,
    Notice,
    Priority,
    Recipient,
    message_from_json,
    message_to_json,
    recipient_key,
)

__all__ = [
    "ChatRecipient",
    "Notice",
    "Priority",
    "Recipient",
    "message_from_json",
    "message_to_json",
    "recipient_key",
]
