"""Huarong on Matrix: rooms bound to clubs, encrypted rooms, numbered choices.

    service = MatrixService(handle, "https://matrix.example.org", "@huarong:example.org",
                            Path("matrix-store"), password=...)
    await service.start()     # sync loop, inbox worker, outbound queue
    ...
    await service.stop()

`huarong serve` starts it from the `HUARONG_MATRIX_*` settings (see `service`).
"""

from __future__ import annotations

from huarong_matrix.bot import PLATFORM, MatrixBot
from huarong_matrix.client import MatrixClient, MatrixFailure
from huarong_matrix.formatting import MatrixContent, matrix_contents
from huarong_matrix.sender import MatrixSender
from huarong_matrix.service import MatrixService, MatrixSettingsError, create

__all__ = [
    "PLATFORM",
    "MatrixBot",
    "MatrixClient",
    "MatrixContent",
    "MatrixFailure",
    "MatrixSender",
    "MatrixService",
    "MatrixSettingsError",
    "create",
    "matrix_contents",
]
