"""Handlers of the red-reading library: books, copies, loans, holds, donations, reflections."""

from __future__ import annotations
