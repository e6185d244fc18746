"""HTML blocks that start a line: ``<body>note<p>id:… stat:DELIVRD …</p>`` holds the
receipt on a line of its own, not glued to the note before it.

``mail.html_to_text`` turns closing tags and ``<br>`` into line ends first; an opening
block tag then starts a new line only where one has not just started, so
``</p><p>`` stays one line end (no blank line: blank lines separate ``Key: value``
blocks) and text that ran into a block is cut from it."""

from __future__ import annotations

import re

__all__ = ["break_before_blocks"]

# "[^<>]*", not "[^>]*": a scan ends at the next "<", so "<<<<…" stays linear
_BLOCK_START = re.compile(
    r"<\s*(?:p|div|tr|li|h\d|table|ul|ol|dl|dt|dd|blockquote|pre|section|article|header|"
    r"footer|center|address|fieldset|form|hr)\b[^<>]*>",
    re.IGNORECASE,
)


def break_before_blocks(text: str) -> str:
    """``text`` with each opening block tag on a new line (see the module docstring)."""

    def start(m: re.Match[str]) -> str:
        # look back over spaces only: the runs before two tags never overlap, so this
        # stays linear in the text however many tags it has
        i = m.start() - 1
        while i >= 0 and text[i] in " \t":
            i -= 1
        return m.group(0) if i < 0 or text[i] == "\n" else "\n" + m.group(0)

    return _BLOCK_START.sub(start, text)
