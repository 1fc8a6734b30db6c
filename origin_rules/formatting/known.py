"""Rule files known to be formatted: ``fmt`` skips parsing a file whose very bytes it found
formatted before (black keeps a cache of unchanged files the same way).

In: the bytes of a rule file. Out: whether ``fmt`` already found exactly these bytes
formatted with exactly this formatter; :meth:`Known.add` records a file found so.

Key: SHA-256 of the formatting code (the rulebook cache's digest of the parser, the AST,
the package version, Python's and Lark's versions, with the files of ``formatting/``), of
the file's name as found and of its bytes. A file is recorded only when ``fmt`` parsed it without errors and its
formatted text was itself (the checks of :func:`~origin_rules.formatting.printer.check_format`
passed); an edit to the file or to that code is a new key, so a recorded file is formatted.

Where: ``formatted`` in the rulebook cache's folder (``$ORIGIN_RULES_CACHE_DIR`` or the
user's cache directory): a first line naming the format, then one key per line, the newest
last, at most :data:`MOST` of them. It is replaced atomically when keys were added; a file
that cannot be read or does not start with its first line is taken as empty and replaced.
Deleting it is always safe; ``fmt --no-cache`` neither reads nor writes it. Whoever can
write the user's cache folder can make ``fmt --check`` pass a file it lists (as with
black's cache): it holds formatting facts, never a verdict.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..files.atomic import write_text_atomically

__all__ = ["MOST", "Known"]

MAGIC = "origin-rules formatted files 1"
MOST = 20_000  # keys kept (about 1.3 MB); the oldest go first
NAME = "formatted"


def _formatter_digest(code: bytes) -> bytes:
    """``code`` (the digest of the parsing code, :func:`origin_rules.rulebook.cache.code_digest`,
    given by the caller: this layer does not import the rulebook's) with the formatter's files."""
    h = hashlib.sha256(code)
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        h.update(path.name.encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.digest()


class Known:
    """The keys of the files found formatted, read from ``directory`` (None: none kept);
    ``code``: the digest of the parsing code (``rulebook.cache.code_digest()``)."""

    def __init__(self, directory: Path | None, code: bytes):
        self.path = directory / NAME if directory is not None else None
        self.keys: dict[str, None] = {}  # in the order added (a dict: ordered, and a set)
        self.added = False
        self._salt = _formatter_digest(code)
        if self.path is None:
            return
        try:
            lines = self.path.read_text(encoding="ascii").split("\n")
        except (OSError, UnicodeDecodeError):
            return
        if lines[0] == MAGIC:
            self.keys = dict.fromkeys(line for line in lines[1:] if len(line) == 64)

    def key(self, file: str, data: bytes) -> str:
        """The key of a file named ``file`` (as found) holding ``data``."""
        name = file.encode("utf-8", "surrogateescape")
        return hashlib.sha256(self._salt + len(name).to_bytes(4, "big") + name + data).hexdigest()

    def __contains__(self, key: str) -> bool:
        return key in self.keys

    def add(self, key: str) -> None:
        if key not in self.keys:
            self.keys[key] = None
            self.added = True

    def save(self) -> None:
        """Write the keys (the newest :data:`MOST`) when some were added; a folder that cannot
        be written leaves the cache as it was."""
        if not self.added or self.path is None:
            return
        keys = list(self.keys)[-MOST:]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomically(self.path, "\n".join([MAGIC, *keys]) + "\n")
        except OSError:
            return
        self.added = False
