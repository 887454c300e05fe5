"""One JSON value per line, whatever line reader the consumer uses.

JSON allows NEL (U+0085) and the Unicode line and paragraph separators (U+2028, U+2029) raw
inside strings, but Python's str.splitlines, JavaScript line readers and many log shippers break
lines on them. An answer that echoes a pasted question would then arrive as two broken halves.
"""

from __future__ import annotations

_ESCAPES = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def one_line(json_text: str) -> str:
    """The same JSON value with the characters line readers split on written as escapes."""
    return json_text.translate(_ESCAPES)
