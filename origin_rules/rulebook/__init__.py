"""The rulebook: rule files on disk -> checked modules -> compiled plans -> determinations.

``sources`` parses and checks rule files, ``book`` is the public API (``load``,
``Rulebook.evaluate``), ``explain`` renders determinations as text, ``completeness`` and
``vocabulary`` report on what a rulebook encodes and asks. Above the engine.
"""

from .book import Rulebook, UnknownAgreement, load, loads

__all__ = ["Rulebook", "UnknownAgreement", "load", "loads"]
