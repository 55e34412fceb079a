"""Names the student chose (folders, files, zip members), made fit to show on a terminal, a page or a sheet."""

from __future__ import annotations

import unicodedata


def printable(name: str) -> str:
    """``name`` as printable UTF-8: bytes that were not UTF-8, control characters and the invisible format
    characters (bidirectional overrides, zero-width marks: one name made to read as another's) become ``%XX``."""
    chars = []
    for char in name:
        if 0xDC80 <= ord(char) <= 0xDCFF:  # a byte os.fsdecode could not decode (surrogateescape)
            chars.append(f"%{ord(char) - 0xDC00:02X}")
        elif unicodedata.category(char) in ("Cc", "Cs", "Cf"):
            chars.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass")))
        else:
            chars.append(char)
    return "".join(chars)
