"""Chat with a Huarong community in a terminal: the zero-setup way to try it.

The adapter arrives with the conversation layer; this package already
exists so that the distribution's layout and imports are stable.
"""

from __future__ import annotations

__all__: list[str] = []
