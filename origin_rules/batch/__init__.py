"""Batch validation at scale: many BOMs in, one output record per input record out.

In: input files (JSON Lines, a YAML/JSON list, flat CSV, XLSX), a loaded rulebook, the
agreements/scenarios to evaluate under, a date. Out: a JSON Lines or CSV file with one
record per input record in input order (a determination summary per agreement, or the
reason the record could not be read; the format is documented in
:mod:`origin_rules.batch.records`) and a :class:`~origin_rules.batch.summary.Summary`.

The stages, one per module: ``inputs`` (cut the input into raw records, streaming) ->
``work`` (in worker processes: read, validate, evaluate via ``judge``, render via
``records``) -> ``run`` (chunks in flight, input order, reuse of identical records, the
output written atomically) -> ``summary``.

    from origin_rules.batch import Options, run_batch
    summary = run_batch(book, Options(inputs=["shipments.jsonl"], out="results.jsonl",
                                      names=["USMCA"], workers=4))
"""

from .run import Options, run_batch, write_atomically
from .summary import Summary

__all__ = ["Options", "Summary", "run_batch", "write_atomically"]
