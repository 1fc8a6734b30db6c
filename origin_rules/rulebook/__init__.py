"""The rulebook: rule files on disk -> checked modules -> compiled plans -> determinations.

``sources`` parses and checks rule files, ``book`` is the public API (``load``,
``Rulebook.evaluate``), ``explain`` renders determinations as text, ``completeness`` and
``vocabulary`` report on what a rulebook encodes and asks. Above the engine.

The public names are imported on first use: `origin-rules check` reads the rulebook cache
(``rulebook.cache``) without importing ``book``, the engine and the BOM models behind it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .book import Rulebook, UnknownAgreement, load, loads

__all__ = ["Rulebook", "UnknownAgreement", "load", "loads"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import book

        return getattr(book, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
