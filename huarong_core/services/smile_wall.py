"""Handlers of the volunteer team: tasks, shifts, sign-ups, confirmed hours; the smile wall."""

from __future__ import annotations
