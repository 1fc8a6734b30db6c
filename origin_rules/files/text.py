"""A text file's bytes as Python's ``open(file, encoding="utf-8")`` reads them.

For readers that need the bytes too (a cache key made of them: the rulebook cache, ``fmt``'s
formatted files) and then the text, without reading the file twice.
"""

from __future__ import annotations

__all__ = ["universal_text"]


def universal_text(data: bytes) -> str:
    """``data`` decoded as UTF-8 with universal newlines (``\\r\\n`` and ``\\r`` read as
    ``\\n``), as ``open(file, encoding="utf-8").read()`` gives it; UnicodeDecodeError when
    it is not UTF-8."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
