"""WAL checkpoints on a thread of their own, so that no commit on the event loop waits for one.

In WAL mode SQLite copies the log back into the database file (a
checkpoint, with an fsync under `synchronous = NORMAL`) from inside
whichever COMMIT takes the log past `wal_autocheckpoint` pages. Quick units
commit on the event loop's thread, so that one commit held up every answer
in flight for the checkpoint's milliseconds: on the Telegram webhook bench
the 200's p99 was three times its p50, and under one and a half times
without checkpoints in the way.

So the writer's connection checkpoints by itself only as a fallback (at
`FALLBACK_PAGES`, should this thread ever fall behind), and this thread runs
a PASSIVE checkpoint, which never waits for a reader or a writer, every
`EVERY_COMMITS` commits of the process's writer, and once a second while
commits keep coming. Another process checkpointing at the same moment makes
one of the two a no-op, which is harmless.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)

EVERY_COMMITS = 64
"""Commits between two checkpoints (a check-in's commit writes about twenty pages)."""
FALLBACK_PAGES = 10_000
"""`wal_autocheckpoint` of the writer: the log's bound if this thread cannot keep up."""
IDLE_SECONDS = 1.0
"""How often commits that did not reach `EVERY_COMMITS` are checkpointed anyway."""


class Checkpointer:
    """One thread with one connection, checkpointing when nudged or once a second."""

    def __init__(self, path: str, commits: Callable[[], int]) -> None:
        self._path = path
        self._commits = commits
        """The writer's commit count: nothing to do while it stays the same."""
        self._due = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._main, name="huarong-sqlite-checkpoints", daemon=True
        )
        self.runs = 0
        """Checkpoints run so far (for tests and operators)."""

    def start(self) -> None:
        self._thread.start()

    def nudge(self) -> None:
        """Ask for a checkpoint soon (cheap: any thread, many times)."""
        self._due.set()

    def stop(self) -> None:
        """Blocks until the thread has ended (call it off the event loop)."""
        self._stopping = True
        self._due.set()
        self._thread.join()

    def _main(self) -> None:
        raw = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        seen = self._commits()
        try:
            while not self._stopping:
                self._due.wait(IDLE_SECONDS)
                self._due.clear()
                now = self._commits()
                if now == seen or self._stopping:
                    continue
                seen = now
                self._checkpoint(raw)
        finally:
            raw.close()

    def _checkpoint(self, raw: sqlite3.Connection) -> None:
        try:
            raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # the next nudge tries again; the fallback bounds the log
            log.warning("storage.sqlite.checkpoint_failed", error=str(exc))
            return
        self.runs += 1
