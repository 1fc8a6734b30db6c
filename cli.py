"""Root shim: `python cli.py ...` runs the same app as the `origin-rules` console script."""

from origin_rules.cli import main

if __name__ == "__main__":
    main()
