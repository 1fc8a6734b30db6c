"""Cutting batch inputs into records, in the main process, without parsing them.

In: input paths (JSON Lines, CSV, XLSX, Parquet in the flat layout, or a YAML/JSON file
holding a list of BOMs).
Out: an iterator of :class:`Item`, one per input record, in input order, each with its
position (file, line or row) and either a *job* for a worker (the record's raw text,
unparsed, so that parsing and validation run in parallel) or a *final* error result known
already (a file that cannot be read at all yields one error record at position 0).

JSON Lines and CSV are read line by line, XLSX row by row and Parquet a record batch at a
time (memory stays flat); a
YAML/JSON file is parsed whole by :func:`origin_rules.files.boms.read_boms` (those formats are
not made for streaming: use JSON Lines for large batches); its records are validated in
the workers, like the others. Each item of a streamed format
carries a digest of its raw content (``key``), so the main process can give every
identical record the result of the first one without sending it to a worker.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..model.bom import BomError, BomProblem
from ..files.boms import bom_record, csv_header, csv_problem, product_key, raw_records

__all__ = ["INPUT_SUFFIXES", "Item", "input_format", "read_items", "total_size"]

INPUT_SUFFIXES = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".yaml": "yaml", ".yml": "yaml", ".json": "yaml", ".parquet": "parquet",
}


@dataclass(slots=True)
class Item:
    """One input record as the main process sees it (see the module doc)."""

    source: str
    position: int
    line: int | None
    key: bytes | None  # digest of the raw record; None: never reused
    job: tuple | None  # what a worker needs (see batch.work); None when `final` is set
    final: tuple | None = None  # ("error", product_id, problems) known without a worker
    done: int = 0  # progress: bytes of all inputs consumed so far


def input_format(path: str | os.PathLike[str]) -> str | None:
    return INPUT_SUFFIXES.get(Path(path).suffix.lower())


def total_size(paths: list[str]) -> int:
    return sum(os.path.getsize(p) for p in paths if os.path.exists(p))


def _digest(*parts: bytes) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part)
    return h.digest()


def _unreadable(file: str, error: BomError, done: int) -> Item:
    problems = [(p.path, p.message, p.line) for p in error.problems]
    line = next((p.line for p in error.problems if p.line is not None), None)
    rel = [(path, message, None if at is None or line is None else at - line) for path, message, at in problems]
    return Item(file, 0, line, None, None, ("error", None, rel), done)


# ---------------------------------------------------------------------------- JSON Lines


def _jsonl(file: str, base: int) -> Iterator[Item]:
    done = base
    try:
        handle = open(file, "rb")
    except OSError as err:
        yield _unreadable(file, BomError(_problem(f"cannot read: {err.strerror or err}", file)), base)
        return
    blake2b = hashlib.blake2b
    with handle:
        for lineno, raw in enumerate(handle, 1):
            done += len(raw)
            body = raw.strip()
            if not body:
                continue
            # line 1 may start with a UTF-8 byte order mark, read differently: never reused
            key = blake2b(body, digest_size=16).digest() if lineno > 1 else None  # (= _digest(body))
            yield Item(file, lineno, lineno, key, ("jsonl", file, lineno, body), None, done)


def _problem(message: str, file: str, line: int | None = None) -> BomProblem:
    return BomProblem(message, "", file, line)


# ---------------------------------------------------------------------------- CSV and XLSX

# A row as the grouping sees it: (line, cells, not UTF-8, bytes done) or a csv.Error.


def _csv_rows(file: str, base: int) -> Iterator[tuple[int, list[str], bool, int] | csv.Error]:
    bad: set[int] = set()
    count = [base]

    def lines(handle):
        for lineno, raw in enumerate(handle, 1):
            count[0] += len(raw)
            try:
                yield raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError:
                bad.add(lineno)
                yield raw.decode("utf-8", errors="replace")

    with open(file, "rb") as handle:
        reader = csv.reader(lines(handle), strict=True)
        next(reader, None)
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader, None)
            except csv.Error as err:
                err.line = start  # type: ignore[attr-defined]
                start = reader.line_num + 1
                yield err
                continue
            if row is None:
                return
            line, start = start, reader.line_num + 1
            garbled = any(n in bad for n in range(line, start))
            yield line, row, garbled, count[0]


def _xlsx_rows(sheet, base: int, size: int) -> Iterator[tuple[int, list[str], bool, int]]:
    total = sheet.max_row or 0
    for number, cells in sheet.rows():
        done = base + (size * number // total if total else 0)
        yield number, cells, False, min(done, base + size)


def _grouped(file: str, columns, rows, header_key: bytes, end: int) -> Iterator[Item]:
    """Consecutive rows of one product as one item (the grouping of bom_io's CSV reader)."""
    seen: set[str] = set()
    group: list[tuple[int, list[str], bool]] = []
    group_key = ""
    done = 0

    def flush() -> Item:
        first = group[0][0]
        repeated = group_key if group_key and group_key in seen else None
        seen.add(group_key)
        material = json.dumps([[ln - first, cells, garbled] for ln, cells, garbled in group], ensure_ascii=False)
        key = _digest(header_key, b"\0" + (b"r" if repeated else b"-"), material.encode("utf-8", "surrogatepass"))
        return Item(file, first, first, key, ("rows", file, columns, list(group), repeated), None, done)

    for row in rows:
        if isinstance(row, csv.Error):
            if group:
                yield flush()
                group = []
            at = row.line  # type: ignore[attr-defined]
            yield Item(file, at, at, None, None, ("error", None, [("", csv_problem(row, at), 0)]), done)
            continue
        line, cells, garbled, done = row
        if not garbled and not any(cell.strip() for cell in cells):
            continue
        key = product_key(cells, columns)
        if group and key != group_key:
            yield flush()
            group = []
        group_key = key
        group.append((line, cells, garbled))
    if group:
        done = end
        yield flush()


def _csv(file: str, base: int, size: int) -> Iterator[Item]:
    try:
        columns = csv_header(file)
    except BomError as err:
        yield _unreadable(file, err, base + size)
        return
    if columns is None:
        return
    header = json.dumps(columns).encode()
    yield from _grouped(file, columns, _csv_rows(file, base), _digest(b"csv", header), base + size)


def _xlsx(file: str, base: int, size: int) -> Iterator[Item]:
    from ..files.xlsx import open_sheet

    try:
        sheet = open_sheet(file)
    except BomError as err:
        yield _unreadable(file, err, base + size)
        return
    try:
        if sheet.columns is None:
            return
        header = json.dumps(sheet.columns).encode()
        rows = _xlsx_rows(sheet, base, size)
        try:
            yield from _grouped(file, sheet.columns, rows, _digest(b"xlsx", header), base + size)
        except Exception as err:  # noqa: BLE001 - a corrupt sheet part: report it, keep going
            yield _unreadable(file, BomError(_problem(f"cannot read the rest of the workbook: {err}", file)), base + size)
    finally:
        sheet.close()


def _parquet(file: str, base: int, size: int) -> Iterator[Item]:
    from ..files.parquet import open_bom_table

    try:
        table = open_bom_table(file)
    except BomError as err:
        yield _unreadable(file, err, base + size)
        return
    try:
        total = table.rows_total
        if table.nested:
            try:
                for row, body in table.records():
                    done = base + (size * row // total if total else size)
                    yield Item(file, row, row, _digest(b"parquet-nested", body), ("jsonl", file, row, body), None, done)
            except Exception as err:  # noqa: BLE001 - a damaged row group: report it, keep going
                yield _unreadable(file, BomError(_problem(f"cannot read the rest of the Parquet file: {err}", file)),
                                  base + size)
            return
        rows = ((line, cells, False, base + (size * (line - 1) // total if total else size))
                for line, cells in table.rows())
        header = json.dumps([f"{scope}.{field}" for _, scope, field in table.columns]).encode()
        try:
            yield from _grouped(file, table.columns, rows, _digest(b"parquet", header), base + size)
        except Exception as err:  # noqa: BLE001 - a damaged row group: report it, keep going
            yield _unreadable(file, BomError(_problem(f"cannot read the rest of the Parquet file: {err}", file)), base + size)
    finally:
        table.close()


# ---------------------------------------------------------------------------- YAML and JSON


def _whole(file: str, base: int, size: int) -> Iterator[Item]:
    """The records of a YAML/JSON file: parsed here (the whole file; nothing else can cut
    it into records), validated in the workers."""
    try:
        records = raw_records(file)
    except BomError as err:
        yield _unreadable(file, err, base + size)
        return
    for position, data, lines, first in records:
        if _deeper_than(data, SENT_DEPTH):  # no valid BOM nests so deep, and a worker could not be sent it
            record = bom_record(file, position, data, lines=lines, line=first)
            if record.error is not None:
                problems = [(p.path, p.message, None if p.line is None or first is None else p.line - first)
                            for p in record.error.problems]
                yield Item(file, position, first, None, None, ("error", record.product_id, problems), base + size)
                continue
        yield Item(file, position, first, None, ("data", file, position, data, lines, first), None, base + size)


#: Levels of mappings and lists in a parsed record beyond which it is read in the main
#: process: a valid BOM nests at most about twice its 50 levels of sub-assemblies, and a
#: record nested much deeper cannot be pickled to a worker (``RecursionError``).
SENT_DEPTH = 150


def _deeper_than(data: object, limit: int) -> bool:
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return False


# ---------------------------------------------------------------------------- all inputs


def read_items(paths: list[str]) -> Iterator[Item]:
    """Every record of every input, in order (see the module doc)."""
    base = 0
    for file in paths:
        fmt = input_format(file)
        try:
            size = os.path.getsize(file)
        except OSError:
            size = 0
        if fmt == "jsonl":
            yield from _jsonl(file, base)
        elif fmt == "csv":
            yield from _csv(file, base, size)
        elif fmt == "xlsx":
            yield from _xlsx(file, base, size)
        elif fmt == "yaml":
            yield from _whole(file, base, size)
        elif fmt == "parquet":
            yield from _parquet(file, base, size)
        else:
            yield _unreadable(file, BomError(_problem(
                f"unsupported file type `{Path(file).suffix or Path(file).name}`: expected "
                + ", ".join(sorted(INPUT_SUFFIXES)), file)), base + size)
        base += size
