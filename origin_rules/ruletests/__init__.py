"""Rule tests: the ``*.test.yaml`` cases beside the rules (``runner``) and the coverage they
reach (``coverage``). Not to be confused with :mod:`origin_rules.testing`, the hypothesis
strategies for property tests."""
