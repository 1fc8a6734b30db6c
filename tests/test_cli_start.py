"""The console script registers only the command it runs (issue 14 item 5: a CLI that starts
at once); ``origin_rules.cli.app`` (tests, scripts, docs) has every command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = ("import os, sys; sys.argv = ['origin-rules', *sys.argv[1:]]; from origin_rules.cli import main\n"
         "try:\n    main()\nexcept SystemExit:\n    pass\n"
         "print(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('origin_rules.cli.')), "
         "os.environ.get('PYDANTIC_DISABLE_PLUGINS'), file=sys.stderr)")


def loaded(*argv: str, env: dict[str, str] | None = None) -> tuple[str, str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=120)
    return done.stdout, done.stderr.strip().splitlines()[-1]


def test_a_command_loads_its_own_module_only():
    out, modules = loaded("schema", "bom")
    assert '"properties"' in out
    assert modules == "['common', 'root', 'schema'] __all__"


@pytest.mark.parametrize("argv", [(), ("--help",), ("evalute",), ("--version",)])
def test_help_and_unknown_commands_load_every_command(argv):
    from origin_rules.cli import COMMAND_MODULES

    _, modules = loaded(*argv)
    for name in COMMAND_MODULES:
        assert f"'{name}'" in modules


def test_a_plugin_setting_of_the_user_is_kept():
    import os

    _, modules = loaded("schema", "bom", env={**os.environ, "PYDANTIC_DISABLE_PLUGINS": "logfire"})
    assert modules.endswith(" logfire")


def test_the_app_has_every_command():
    from typer.main import get_command

    from origin_rules.cli import app

    names = set(get_command(app).commands)
    assert {"check", "fmt", "evaluate", "batch", "report", "certify", "diff", "schema", "test", "rulebook", "serve",
            "audit", "lsp"} <= names


@pytest.mark.parametrize("argv", [("check", "rules/cptpp.roo"), ("check", "no-such-folder")])
def test_the_process_leaves_what_the_command_built_out_of_its_last_collections(argv):
    """After the command (done or failed, its exit code kept), the console script freezes
    what is alive (``gc.freeze``): the interpreter's collections at exit then walk none of it
    (a rule test run's cases: about 70 ms of a 0.6 s `origin-rules test`)."""
    probe = ("import gc, sys; sys.argv = ['origin-rules', *sys.argv[1:]]; from origin_rules.cli import main\n"
             "code = 0\ntry:\n    main()\nexcept SystemExit as exit:\n    code = exit.code\n"
             "print(code, gc.get_freeze_count() > 0, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120)
    code, frozen = done.stderr.strip().splitlines()[-1].split()
    assert frozen == "True"
    assert (code == "0") is (argv[1] != "no-such-folder")
