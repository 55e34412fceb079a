"""What student code printed, made fit to show: untrusted text, cleaned of terminal controls and capped.

The text is only ever shown (under a failing check), never read for a verdict. It is cleaned so that a
submission cannot drive the reader's terminal (clear it, move the cursor, rewrite lines above, set the
window title, hide text with bidirectional overrides), and capped to its end, where the failure is.
"""

from __future__ import annotations

import re

#: The last lines and characters of a check's output that are shown.
LINES = 10
CHARS = 2000

#: ANSI/VT escape sequences: CSI (colours, cursor moves), OSC (titles, links), and the short two-byte forms.
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -/]*[0-~])?")
#: Control characters (but tab and newline), C1 controls, and the invisible Unicode format characters that
#: reorder or hide text (bidirectional overrides and isolates, zero-width marks).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def clean(text: str) -> str:
    """``text`` without escape sequences and control characters; a line rewritten with ``\\r`` (a progress
    bar) keeps what a terminal would show last."""
    lines = [line.rpartition("\r")[2] for line in text.replace("\r\n", "\n").split("\n")]
    return plain("\n".join(lines))


def plain(text: str) -> str:
    """``text`` without escape sequences and control characters (``\\r`` too: what the student wrote cannot
    rub out the words around it), newlines and tabs kept."""
    return _CONTROL.sub("", _ESCAPE.sub("", text))


def tail(text: str, lines: int = LINES, chars: int = CHARS) -> str:
    """The cleaned end of ``text``: its last ``lines`` lines, at most ``chars`` characters, with a first line
    saying how much was cut before them."""
    shown = clean(text).rstrip("\n")
    kept = shown.split("\n")[-lines:]
    end = "\n".join(kept)[-chars:]
    cut = len(shown) - len(end)
    if cut <= 0:
        return shown
    lines_cut = shown[:cut].count("\n")
    what = f"{lines_cut:,} earlier lines ({cut:,} characters)" if lines_cut else f"{cut:,} earlier characters"
    return f"[... {what} cut]\n{end}"
