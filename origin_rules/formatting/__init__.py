"""Formatting: the one printer of the rule language (``printer``, used by ``fmt`` and diff)."""
