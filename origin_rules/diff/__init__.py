"""Rule-edit safety: what an edit of the rules does, before it ships.

In: two sides, each an agreement or scenario of a loaded rulebook (two versions of a file,
or an agreement and a scenario built on it). Out: a comparison with three parts, one module
each, data flowing one way:

* :mod:`~origin_rules.diff.normal`: programs in a canonical form (sets resolved, ``and`` /
  ``or`` as sorted multisets, aliases written out), so layout and order never count;
* :mod:`~origin_rules.diff.structural` and :mod:`~origin_rules.diff.describe`: the changes in
  meaning by HS selector and date, in words (``8708.30: RVC (transaction value) 60% -> 65%``);
* :mod:`~origin_rules.diff.impact`: the BOMs of a portfolio whose verdict changes;
* :mod:`~origin_rules.diff.search`: BOMs aimed at each change (hypothesis), shrunk to a
  minimal counterexample, and the verdict ``stricter`` / ``looser`` / ``mixed`` /
  ``equivalent`` (no difference found in N examples: never a proof);
* :mod:`~origin_rules.diff.compare` runs them; :mod:`~origin_rules.diff.report` renders text
  and JSON. The command is ``origin-rules diff`` (:mod:`origin_rules.cli.diff`).

This package imports nothing eagerly: ``from origin_rules.diff.compare import compare``.
"""
