"""Parquet files: BOMs in, batch results out and back (pyarrow, streaming).

In (BOMs), a record batch at a time (memory stays flat), in one of two layouts:

- *flat*, as a CSV file (docs/bom.md): one row per material with the product's columns
  repeated (``product.id``, ``product.hs``, ``material.value`` ...). :func:`open_bom_table`
  checks the column names as the CSV reader checks a header, and :meth:`BomTable.rows`
  yields the rows as lists of text cells. Rows are numbered as in the same table exported
  to CSV: the header is line 1, the first row of data line 2.
- *nested*, as JSON Lines: one row per BOM, with a ``product`` struct column and a
  ``materials`` list-of-structs column (and ``materials`` inside a material for a
  sub-assembly), the fields named as in YAML/JSON. :meth:`BomTable.records` yields each
  row as the JSON text of its BOM (null fields left out), numbered from 1.

Cells become the text a CSV file would hold (:func:`origin_rules.files.xlsx.cell_text`):
strings as they are, ``decimal128`` values exactly, integers as digits, booleans
``true``/``false``, dates ISO text. Floating-point columns (``double``) hold binary
fractions: a value becomes the shortest text that reads back as the same float (``0.1`` ->
``"0.1"``), as Excel numbers do; store amounts as ``decimal128`` or string columns to be
exact beyond 15 significant digits.

Out (results): the batch's JSON Lines records as a Parquet table with the same fields:
``source``, ``position``, ``line``, ``product_id``, ``hs``, ``produced_in`` as columns, and
``determinations`` and ``error`` as JSON text (their shape is the JSON Lines one, see
:mod:`origin_rules.batch.records`; a query engine reads them with its JSON functions).
:func:`write_results` converts a JSON Lines file in batches; :func:`read_results` gives the
records back as the dicts the JSON Lines file holds, for the report.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO, Iterator

from ..model.bom import BomError, BomProblem
from .columns import Column, header_columns

__all__ = ["BATCH_ROWS", "BomTable", "RESULT_FIELDS", "ResultsFormatError", "open_bom_table", "read_results", "write_results"]

BATCH_ROWS = 8192  # rows read or written at a time
RESULT_FIELDS = ("source", "position", "line", "product_id", "hs", "produced_in", "determinations", "error")


def _pyarrow():
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        raise BomError(BomProblem("reading Parquet needs pyarrow: pip install pyarrow", "", "", None)) from None
    return pq


class BomTable:
    """An open Parquet file of BOM rows: its checked columns and its rows as text cells."""

    def __init__(self, file: str, handle, columns: list[Column] | None):
        self.file = file
        self._handle = handle
        self.columns = columns  # None: the nested layout
        self.nested = columns is None
        self.rows_total = handle.metadata.num_rows

    def records(self) -> Iterator[tuple[int, bytes]]:
        """(row, JSON text of the BOM) for every row of a nested table, rows from 1."""
        names = self._handle.schema_arrow.names
        row = 0
        for batch in self._handle.iter_batches(batch_size=1024, use_threads=False):
            for values in zip(*(batch.column(i).to_pylist() for i in range(len(names)))):
                row += 1
                record = _present({k: v for k, v in zip(names, values)})
                yield row, json.dumps(record, default=_json_value, ensure_ascii=False,
                                      separators=(",", ":")).encode("utf-8")

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line, cells) for every row, in order; line 2 is the first row of data."""
        from .xlsx import cell_text

        names = self._handle.schema_arrow.names
        line = 1
        for batch in self._handle.iter_batches(batch_size=BATCH_ROWS, use_threads=False):
            columns = [batch.column(i).to_pylist() for i in range(len(names))]
            for values in zip(*columns):
                line += 1
                yield line, [cell_text(v) for v in values]

    def close(self) -> None:
        self._handle.close()


def open_bom_table(path: str) -> BomTable:
    """Open a Parquet file of BOM rows; BomError when it cannot be read or its columns are
    not those of the flat layout (every unknown or repeated column named, as for CSV)."""
    pq = _pyarrow()
    file = str(path)
    try:
        handle = pq.ParquetFile(file)
    except OSError as err:
        raise BomError(BomProblem(f"cannot read: {getattr(err, 'strerror', None) or err}", "", file, None)) from None
    except Exception as err:  # noqa: BLE001 - pyarrow raises its own errors for a file that is not Parquet
        raise BomError(BomProblem(f"not a Parquet file: {err}", "", file, None)) from None
    names = handle.schema_arrow.names
    nested = [f.name for f in handle.schema_arrow if _is_nested(f.type)]
    if "product" in names or "materials" in names:
        missing = [n for n in ("product", "materials") if n not in names]
        if missing or not nested:
            handle.close()
            raise BomError(BomProblem(
                "a nested Parquet BOM table has a `product` struct column and a `materials` list column "
                f"(missing: {', '.join(f'`{m}`' for m in missing) or 'none'}; nested: "
                f"{', '.join(f'`{n}`' for n in nested) or 'none'}); the flat layout names its columns "
                "`product.FIELD` and `material.FIELD` (docs/bom.md)", "", file, 1))
        return BomTable(file, handle, None)
    if nested:
        handle.close()
        raise BomError(BomProblem(
            f"column(s) {', '.join(f'`{n}`' for n in nested)} are nested, but the table is not a nested BOM "
            "table (`product` and `materials` columns) nor the flat layout (docs/bom.md)", "", file, 1))
    try:
        columns = header_columns(list(names), file, 1)
    except BomError:
        handle.close()
        raise
    return BomTable(file, handle, columns)


def _present(value: Any) -> Any:
    """The value with null struct fields left out, at any depth (a struct column gives
    every field of every row; a field the BOM does not give is null)."""
    if isinstance(value, dict):
        return {k: _present(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_present(v) for v in value]
    return value


def _json_value(value: Any) -> Any:
    """JSON for what pyarrow gives beyond JSON's types: decimals exactly, dates ISO text,
    floats as the shortest text of the same float (:func:`origin_rules.files.xlsx.cell_text`)."""
    from .xlsx import cell_text

    return cell_text(value)


def _is_nested(kind) -> bool:
    import pyarrow.types as t

    return t.is_struct(kind) or t.is_list(kind) or t.is_large_list(kind) or t.is_map(kind)


# ---------------------------------------------------------------------------- results


def _schema():
    import pyarrow as pa

    return pa.schema([
        ("source", pa.string()), ("position", pa.int64()), ("line", pa.int64()), ("product_id", pa.string()),
        ("hs", pa.string()), ("produced_in", pa.string()), ("determinations", pa.string()), ("error", pa.string()),
    ])


def write_results(jsonl: BinaryIO, out: BinaryIO) -> int:
    """Convert batch output (JSON Lines, read from ``jsonl``) into a Parquet table written to
    ``out``, a batch of rows at a time; the number of records."""
    import pyarrow as pa

    pq = _pyarrow()
    schema = _schema()
    count = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        rows: dict[str, list] = {name: [] for name in RESULT_FIELDS}

        def flush() -> None:
            if rows["source"]:
                writer.write_batch(pa.record_batch([rows[n] for n in RESULT_FIELDS], schema=schema))
                for values in rows.values():
                    values.clear()

        for raw in jsonl:
            if not raw.strip():
                continue
            record = json.loads(raw)
            for name in RESULT_FIELDS[:6]:
                rows[name].append(record.get(name))
            dets = record.get("determinations")
            rows["determinations"].append(None if dets is None else json.dumps(dets, ensure_ascii=False, separators=(",", ":")))
            error = record.get("error")
            rows["error"].append(None if error is None else json.dumps(error, ensure_ascii=False, separators=(",", ":")))
            count += 1
            if len(rows["source"]) >= BATCH_ROWS:
                flush()
        flush()
    return count


class ResultsFormatError(ValueError):
    """A Parquet file that is not the output of ``origin-rules batch``."""


def read_results(path: str) -> Iterator[dict[str, Any]]:
    """The records of a Parquet results file as the JSON Lines file would give them
    (ResultsFormatError when it is not batch output)."""
    pq = _pyarrow()
    try:
        handle = pq.ParquetFile(str(path))
    except OSError as err:
        raise ResultsFormatError(f"cannot read `{path}`: {getattr(err, 'strerror', None) or err}") from None
    except Exception as err:  # noqa: BLE001
        raise ResultsFormatError(f"`{path}`: not a Parquet file ({err})") from None
    with handle:
        names = handle.schema_arrow.names
        missing = [n for n in RESULT_FIELDS if n not in names]
        if missing:
            raise ResultsFormatError(f"`{path}`: not the Parquet output of `origin-rules batch` "
                                     f"(no column {', '.join(f'`{m}`' for m in missing)})")
        row = 0
        for batch in handle.iter_batches(batch_size=BATCH_ROWS, columns=list(RESULT_FIELDS), use_threads=False):
            columns = [batch.column(i).to_pylist() for i in range(len(RESULT_FIELDS))]
            for values in zip(*columns):
                row += 1
                record = dict(zip(RESULT_FIELDS[:6], values[:6]))
                try:
                    if values[6] is not None:
                        record["determinations"] = json.loads(values[6])
                    if values[7] is not None:
                        record["error"] = json.loads(values[7])
                except ValueError as err:
                    raise ResultsFormatError(f"`{path}`, row {row}: determinations or error is not JSON ({err})") from None
                yield record
