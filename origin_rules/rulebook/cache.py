"""The rulebook cache: rule files parsed and checked once, read back in milliseconds.

In: the paths of rule files or folders (as ``load`` takes them). Out: the same
:class:`~origin_rules.rulebook.sources.Parsed` bundle a cold parse gives (modules,
programs, every diagnostic, the sources and their digest), from the cache when it holds
this rulebook, else parsed, checked and stored for the next run.

Where: ``$ORIGIN_RULES_CACHE_DIR`` when set, else the user's cache directory
(``platformdirs``: ``~/.cache/origin-rules`` on Linux). One file per rulebook location;
deleting the directory is always safe. ``--no-cache`` on the commands bypasses it.

Key: the SHA-256 of the package's parsing and checking code (so any edit to the grammar,
the AST, the checker or the package version invalidates every entry), the Python version,
Lark's version, and each rule file's path and bytes. The rulebook is parsed from the very
bytes that were hashed, so an edit during the run cannot be stored under the old key.

Trust: a cache file is ``MAGIC | key | SHA-256 of the payload | payload``. The payload's
digest is checked before it is read, so a truncated or flipped file is rebuilt. The payload
is three pickles (the diagnostics and texts; the programs; the modules: the last two read
when first asked for, see "parts" below) read by :class:`_Unpickler`, which resolves only
the project's own AST and model classes and ``Decimal``/``date``; a pickle naming anything
else (``os.system``...) is refused before any of it runs, and the rulebook is parsed again
(a part read later, in a file crafted with a matching digest: refused when it is read, and
the rule files parsed again and stored). Writes are atomic (``files.atomic``): two
processes storing at once leave one whole file.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import io
import os
import pickle
import sys
import threading
import types
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from importlib.util import find_spec
from operator import attrgetter
from pathlib import Path
from typing import Iterator

from ..files.atomic import write_atomically
from ..files.text import universal_text
from ..model import ast, diagnostics, hs
from ..semantics import resolve
from .sources import Parsed, discover, parse_paths, parse_texts

MAGIC = b"origin-rules rulebook cache 2\n"
MOST_ENTRIES = 64  # cache files kept per cache folder (one per rulebook location)
ENV_DIR = "ORIGIN_RULES_CACHE_DIR"
SUFFIX = ".rulebook"

# The code whose output is cached: an edit to any of these files is a new key.
_CODE = ("__init__.py", "model", "syntax", "semantics", "rulebook/sources.py", "rulebook/cache.py")


def cache_dir() -> Path | None:
    """``$ORIGIN_RULES_CACHE_DIR``, else the user's cache directory (None without platformdirs)."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env)
    try:
        from platformdirs import user_cache_dir
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    return Path(user_cache_dir("origin-rules", appauthor=False))


def parse_cached(paths: list[str | Path], directory: Path | None = None, *, use_cache: bool = True) -> Parsed:
    """``sources.parse_paths(paths)``, from the cache when it holds these exact files (with
    ``use_cache=False``: parsed, and the cache neither read nor written)."""
    with _gc_paused():
        if not use_cache:
            return parse_paths(paths)
        return _parse_cached(paths, directory if directory is not None else cache_dir())


def _parse_cached(paths: list[str | Path], directory: Path | None) -> Parsed:
    files, problems = discover(paths)
    if problems or directory is None:  # a missing path is reported by the cold parse
        return parse_paths(paths)
    contents: list[tuple[str, bytes]] = []
    for file in files:
        try:
            with open(file, "rb") as handle:
                contents.append((file, handle.read()))
        except OSError:  # unreadable: the cold parse reports it (ROO000)
            return parse_paths(paths)
    key = _key(contents)
    slot = directory / (_slot_name(files) + SUFFIX)
    parsed = _read(slot, key, files)
    if parsed is not None:
        _touch(slot)
        return parsed
    texts = _texts(contents)
    if texts is None:  # not UTF-8: the cold parse reports it (ROO000)
        return parse_paths(paths)
    parsed = parse_texts(texts)
    _write(slot, key, parsed)
    _prune(directory, keep=slot)
    return parsed


def _touch(slot: Path) -> None:
    """Mark a cache file as just used (its modification time), for :func:`_prune`."""
    try:
        os.utime(slot)
    except OSError:
        pass


def _prune(directory: Path, keep: Path, most: int | None = None) -> int:
    """Keep at most ``most`` (:data:`MOST_ENTRIES`) cache files in ``directory``: the
    least recently used go first, never ``keep``. Each rulebook location has a file of its
    own, so rules checked in ever-new folders (temporary checkouts, CI workspaces) would
    otherwise pile up. Returns how many were removed; a file that cannot be removed is left."""
    most = MOST_ENTRIES if most is None else most
    try:
        entries = []
        for entry in os.scandir(directory):
            if entry.name.endswith(SUFFIX) and entry.is_file() and entry.path != str(keep):
                entries.append((entry.stat().st_mtime_ns, entry.path))
    except OSError:
        return 0
    removed = 0
    for _, path in sorted(entries)[:max(0, len(entries) + 1 - most)]:
        try:
            os.unlink(path)
            removed += 1
        except OSError:
            pass
    return removed


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a rulebook is parsed or read: tens of thousands of
    new objects that stay alive would make every collection pass walk them again (reading
    the cache several times faster, parsing a little); cycles made meanwhile are collected
    after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ---- key ---------------------------------------------------------------------------------------


_code_digest: bytes | None = None


def code_digest() -> bytes:
    """SHA-256 of the parsing and checking code, the package version, Python's and Lark's."""
    global _code_digest
    if _code_digest is None:
        root = Path(__file__).resolve().parent.parent
        h = hashlib.sha256(f"python {sys.version_info[:3]}\0".encode())
        names: list[Path] = []
        for part in _CODE:
            path = root / part
            names.extend(sorted(path.glob("*.py")) + sorted(path.glob("*.lark")) if path.is_dir() else [path])
        spec = find_spec("lark")
        if spec is not None and spec.origin:
            names.append(Path(spec.origin))  # lark/__init__.py holds its __version__
        for name in names:
            h.update(str(name.name).encode() + b"\0")
            try:
                h.update(name.read_bytes())
            except OSError:
                h.update(b"\1missing")
            h.update(b"\0")
        _code_digest = h.digest()
    return _code_digest


def _key(contents: list[tuple[str, bytes]]) -> bytes:
    h = hashlib.sha256(code_digest())
    for file, data in contents:
        h.update(file.encode("utf-8", "surrogateescape") + b"\0")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.digest()


def _slot_name(files: list[str]) -> str:
    """One cache file per rulebook location (the files as named, from this folder)."""
    try:
        here = os.getcwd()
    except OSError:  # the working folder was removed: the names alone
        here = ""
    h = hashlib.sha256(here.encode("utf-8", "surrogateescape"))
    for file in files:
        h.update(b"\0" + file.encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:32]


def _texts(contents: list[tuple[str, bytes]]) -> dict[str, str] | None:
    """The files' text as ``open(file, encoding="utf-8")`` reads it (universal newlines)."""
    texts: dict[str, str] = {}
    for file, data in contents:
        try:
            texts[file] = universal_text(data)
        except UnicodeDecodeError:
            return None
    return texts


# ---- file --------------------------------------------------------------------------------------


def _read(slot: Path, key: bytes, files: list[str]) -> Parsed | None:
    """The cached bundle, or None when absent, stale, damaged or not what it should be."""
    try:
        with open(slot, "rb") as handle:
            blob = handle.read()
    except OSError:
        return None
    head = len(MAGIC) + 64
    if len(blob) < head or not blob.startswith(MAGIC) or blob[len(MAGIC):len(MAGIC) + 32] != key:
        return None
    payload = blob[head:]
    if hashlib.sha256(payload).digest() != blob[len(MAGIC) + 32:head]:
        return None
    try:
        parsed = _load(payload, rebuild=lambda texts: _rebuilt(slot, key, texts))
    except Exception:  # refused or malformed: rebuilt by the caller
        return None
    if list(parsed.sources) != files:
        return None
    return parsed


def _rebuilt(slot: Path, key: bytes, texts: dict[str, str]) -> Parsed:
    """The rule files parsed again, and stored over a cache file whose later part was refused."""
    parsed = parse_texts(texts)
    _write(slot, key, parsed)
    return parsed


def _write(slot: Path, key: bytes, parsed: Parsed) -> None:
    """Store the bundle; a cache that cannot be written is no error (the run goes on)."""
    try:
        payload = _dump(parsed)
    except (RecursionError, pickle.PicklingError, TypeError, AttributeError):
        return
    blob = MAGIC + key + hashlib.sha256(payload).digest() + payload
    try:
        slot.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(slot, lambda handle: handle.write(blob), binary=True)
    except OSError:
        return


def pack(parsed: Parsed) -> bytes:
    """The parsed and checked rule files as bytes, to ship to another process or machine
    (a batch on a cluster): the cache's restricted format, with its digest."""
    payload = _dump(parsed)
    return MAGIC + code_digest() + hashlib.sha256(payload).digest() + payload


def unpack(blob: bytes) -> Parsed:
    """What :func:`pack` made; ValueError for anything else (damaged, or not rule files)."""
    head = len(MAGIC) + 64
    payload = blob[head:]
    if not blob.startswith(MAGIC) or len(blob) < head or hashlib.sha256(payload).digest() != blob[len(MAGIC) + 32:head]:
        raise ValueError("not a packed rulebook, or damaged in transit")
    if blob[len(MAGIC):len(MAGIC) + 32] != code_digest():
        raise ValueError("the rulebook was packed by another version of origin-rules (or of Python or Lark): "
                         "install the same version on every machine")
    try:
        return _load(payload)
    except Exception as err:  # noqa: BLE001 - refused or malformed
        raise ValueError(f"not a packed rulebook: {err}") from None


# ---- parts, each read when needed --------------------------------------------------------------
#
# `check` needs the diagnostics and the texts only, a warm `evaluate` the programs too, and
# the language server, `diff` and the rule tests the modules as well. So the payload is three
# pickles written one after the other by one pickler: the diagnostics, sources and digest;
# the programs; the modules. A later part refers to the values of an earlier one by their
# index in the pickler's memo, and is read by the very unpickler that read the earlier ones
# (its memo kept), when first asked for, so every value is the same object wherever it is
# reached from, as in one pickle (the modules' agreements are the programs' nodes).


def _dump(parsed: Parsed) -> bytes:
    buffer = io.BytesIO()
    pickler = _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dump((list(parsed.diagnostics), dict(parsed.sources), parsed.digest))
    pickler.dump(dict(parsed.programs))
    pickler.dump(list(parsed.modules))
    return buffer.getvalue()


def _load(payload: bytes, rebuild=None) -> Parsed:
    """The first part now, the programs and the modules when first asked for. ``rebuild``
    (from the rule files' texts to a fresh :class:`Parsed`), when given, stands in for a later
    part that is refused when read; without it, the refusal is raised."""
    later = _Later(_Unpickler(io.BytesIO(payload)))
    head = later.unpickler.load()
    if not (isinstance(head, tuple) and len(head) == 3):
        raise pickle.UnpicklingError("cache: not a rulebook")
    found, sources, digest = head
    if not (isinstance(found, list) and all(isinstance(d, diagnostics.Diagnostic) for d in found)
            and isinstance(sources, dict) and isinstance(digest, str)):
        raise pickle.UnpicklingError("cache: not a rulebook")
    if rebuild is not None:
        later.rebuild = lambda: rebuild(sources)
    return Parsed(modules=later.modules, programs=later.programs, diagnostics=found,  # type: ignore[arg-type]
                  sources=sources, digest=digest)


class _Later:
    """The programs and the modules of a cached rulebook, in the order they were stored,
    each read when first asked for (``Parsed.programs``, ``Parsed.modules``), once, by one
    thread at a time (a service's threads may ask together). A damaged part (its digest was
    checked: only a file crafted with a matching digest) is refused then, nothing of it run:
    the rule files are parsed again (and the cache file rewritten) when the cache gave a
    ``rebuild``, else ``pickle.UnpicklingError`` is raised."""

    def __init__(self, unpickler: _Unpickler):
        self.unpickler = unpickler
        self.lock = threading.Lock()
        self.read: list = []  # the parts read so far: the programs, then the modules
        self.rebuild = None  # () -> Parsed: the rule files parsed again

    def programs(self) -> dict[str, resolve.Program]:
        return self._part(0)

    def modules(self) -> list[ast.Module]:
        return self._part(1)

    # what each part is: {name: Program}, then [Module]
    SHAPES = ((dict, resolve.Program), (list, ast.Module))

    def _part(self, index: int):
        with self.lock:
            while len(self.read) <= index:  # the modules refer to the programs' values: in order
                try:
                    self.read.append(self._next())
                except Exception:
                    if self.rebuild is None:
                        raise
                    fresh = self.rebuild()  # a part handed out already stays as it was (equal)
                    self.read = [fresh.programs, fresh.modules]
            return self.read[index]

    def _next(self):
        with _gc_paused():
            part = self.unpickler.load()
        container, value = self.SHAPES[len(self.read)]
        values = part.values() if isinstance(part, dict) else part
        if not (isinstance(part, container) and all(isinstance(v, value) for v in values)):
            raise pickle.UnpicklingError("cache: not the programs and modules of a rulebook")
        return part


# ---- pickling, restricted ----------------------------------------------------------------------


def _setters(cls: type) -> tuple | None:
    """The slot setters of a frozen, slotted dataclass whose slots are exactly its fields
    (built without its Python ``__init__``/``__setstate__``: fast); None for any other class."""
    if not (dataclasses.is_dataclass(cls) and isinstance(cls, type)):
        return None
    names = [f.name for f in dataclasses.fields(cls)]
    slots = [s for k in cls.__mro__ for s in vars(k).get("__slots__", ())]
    if sorted(slots) != sorted(names):
        return None
    descriptors = [getattr(cls, name, None) for name in names]
    if not all(isinstance(d, types.MemberDescriptorType) for d in descriptors):
        return None
    return tuple(d.__set__ for d in descriptors)


def _classes(module: types.ModuleType) -> dict[str, type]:
    return {name: value for name, value in vars(module).items()
            if isinstance(value, type) and value.__module__ == module.__name__}


# The only globals a cache file may name: the project's AST and model values, Decimal, date.
_ALLOWED: dict[tuple[str, str], object] = {}
for _module in (ast, hs, diagnostics):
    for _name, _cls in _classes(_module).items():
        if dataclasses.is_dataclass(_cls) or issubclass(_cls, (hs.Level, diagnostics.Severity)):
            _ALLOWED[(_module.__name__, _name)] = _cls
for _cls in (resolve.Program, resolve.Placed, Parsed):
    _ALLOWED[(_cls.__module__, _cls.__name__)] = _cls
_ALLOWED[("decimal", "Decimal")] = Decimal
_ALLOWED[("datetime", "date")] = date

# Trees of frozen values (no cycles possible) are stored as a call of a builder of their
# class with their field values; Program and Placed (a scope refers back to its program) are
# pickled as usual.
_FAST: dict[type, tuple] = {}
for (_modname, _), _cls in list(_ALLOWED.items()):
    if _modname in (ast.__name__, hs.__name__, diagnostics.__name__):
        _set = _setters(_cls)  # type: ignore[arg-type]
        if _set is not None:
            _FAST[_cls] = _set  # type: ignore[index]
_FIELDS = {cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in _FAST}


_MAKERS: dict[int, object] = {}  # number of fields -> a function making builders of that many


def _builder(cls: type, setters: tuple, name: str):
    """A function building one ``cls`` from its field values, ``build(v0, v1, ...)``, without
    its ``__init__``: a new object and each slot set, written out (no loop, no lookup of the
    class: the unpickler calls it for each of tens of thousands of values). A call with the
    wrong number of values is a TypeError, and the cache is rebuilt. The source is written
    once per number of fields (compiling one per class cost more than it saved)."""
    n = len(setters)
    make = _MAKERS.get(n)
    if make is None:
        slots = "".join(f", s{i}" for i in range(n))
        values = ", ".join(f"v{i}" for i in range(n))
        body = "".join(f"        s{i}(o, v{i})\n" for i in range(n))
        namespace: dict = {}
        exec(f"def make(new, cls{slots}):\n    def build({values}):\n        o = new(cls)\n{body}"  # noqa: S102
             f"        return o\n    return build\n", namespace)
        make = _MAKERS[n] = namespace["make"]
    build = make(object.__new__, cls, *setters)  # type: ignore[operator]
    build.__module__, build.__name__, build.__qualname__ = __name__, name, name
    return build


# Each builder is a global of this module (the pickle names it), and allowed.
_BUILDERS: dict[type, object] = {}
for _cls, _set in _FAST.items():
    _name = f"_build_{_cls.__module__.rpartition('.')[2]}_{_cls.__name__}"
    _BUILDERS[_cls] = globals()[_name] = _builder(_cls, _set, _name)
    _ALLOWED[(__name__, _name)] = _BUILDERS[_cls]


# Each frozen value's fields as a tuple, read in C (attrgetter); one field: wrapped in _Pickler.
_GETTERS = {cls: (_BUILDERS[cls], attrgetter(*names), len(names) == 1) for cls, names in _FIELDS.items() if names}
_EMPTY = {cls: _BUILDERS[cls] for cls, names in _FIELDS.items() if not names}


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        found = _GETTERS.get(type(obj))
        if found is None:
            build = _EMPTY.get(type(obj))
            return NotImplemented if build is None else (build, ())
        build, fields, single = found
        values = fields(obj)
        return build, (values,) if single else values


class _Unpickler(pickle.Unpickler):
    """Resolves only :data:`_ALLOWED`; anything else ends the read (the cache is rebuilt)."""

    def find_class(self, module: str, name: str):
        found = _ALLOWED.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"cache: `{module}.{name}` is not allowed")
        return found


__all__ = ["cache_dir", "code_digest", "pack", "parse_cached", "unpack", "ENV_DIR"]
