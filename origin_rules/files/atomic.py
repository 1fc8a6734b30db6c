"""Safe writes: every file the tool writes appears whole or not at all.

In: a target path and what to write (text, or a function writing to an open handle).
Out: the target replaced in one step: the content goes to a temporary file in the same
directory (so the rename never crosses file systems), is flushed and fsynced, then
``os.replace`` moves it over the target. A crash, a full disk or an interrupt leaves the
old file as it was and no partial one; the temporary file is removed on any error. A file
that existed keeps its permission bits (``fmt --write`` on a read-only-for-others file);
a new one gets the usual ``0o666`` less the umask.

A target that is neither a regular file nor a folder (``-o /dev/null``, ``--summary
/dev/stdout``, a named pipe) is written in place, as a stream: a file renamed over it would
replace the device or the pipe itself (``/dev/null`` turned into a regular file, for every
program on the machine, when run as root). A symbolic link is followed: the file it links
to is replaced (its temporary file beside it), and the link stays a link.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Callable

__all__ = ["write_atomically", "write_text_atomically"]


def write_atomically(path: str | os.PathLike[str], write: Callable, binary: bool = False) -> None:
    """Call ``write(handle)`` on a temporary file beside ``path``, then move it into place."""
    target = Path(path)
    try:
        found: os.stat_result | None = os.stat(target)  # (through links: /dev/stdout is one)
    except FileNotFoundError:
        found = None
    if found is not None and not stat.S_ISREG(found.st_mode) and not stat.S_ISDIR(found.st_mode):
        with open(target, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})) as handle:
            write(handle)  # a device or a pipe: a stream, nothing to rename (see the module's doc)
        return
    if target.is_symlink():  # the file it links to is replaced, and the link kept
        target = Path(os.path.realpath(target))
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        if found is not None:
            mode = stat.S_IMODE(found.st_mode)
        else:
            mask = os.umask(0)
            os.umask(mask)
            mode = 0o666 & ~mask  # mkstemp makes it private; the output is an ordinary file
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_text_atomically(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, newlines as given) atomically."""
    write_atomically(path, lambda handle: handle.write(text))
