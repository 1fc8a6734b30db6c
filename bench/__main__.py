"""`make bench`: measured ratios, printed as a table (absolute times are noisy here).

1. Parse and check a generated rulebook of 5,000 rules (time; aim: under one second).
2. Evaluations per second of the compiled plan against a hand-written Python function
   implementing the same rule (LANGUAGE.md's 8708.30 rule plus a China-content `require`)
   over the same 20-material BOM objects, measured in one run; the ratio is what counts.
3. How time per evaluation grows with the rulebook (10 vs 10,000 rules) and with the BOM
   (10 vs 1,000 materials).

Run: python -m bench [--quick]
"""

from __future__ import annotations

import sys

from .evaluation import main

if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
