"""The pre-commit hooks work from another repository, as a user installs them.

In: this repository's ``.pre-commit-hooks.yaml`` and package. Out: a real ``pre-commit run
--all-files`` in a temporary git repository of rule files, whose ``.pre-commit-config.yaml``
points ``repo:`` at a snapshot of this repository: a bad ``.roo`` file and an unformatted
one are rejected; once fixed (the unformatted one by the ``origin-rules-fmt-write`` fixer
hook), the same run passes.

pre-commit only sees committed content, so the snapshot is a one-commit git repository of
the files this checkout would commit (tracked and untracked-but-not-ignored files of the
package, pyproject.toml, README.md, LICENSE and the hooks file): in CI, a fresh clone, that
is HEAD; on a developer's machine it includes their uncommitted edits. pre-commit builds a
virtualenv for the hooks and pip-installs the package and its dependencies into it, which
needs a package index: the test is skipped, saying so, only when pre-commit cannot reach one.
pip is told not to byte-compile what it installs (``PIP_COMPILE=0``, as ``pip install
--no-compile``), which changes no file it installs but the ``.pyc`` caches.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # end to end (registered in pyproject.toml): run first by tests/conftest.py

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ("origin_rules", "pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml")
NETWORK = re.compile(
    r"Could not find a version that satisfies|No matching distribution found|Failed to establish a new connection"
    r"|Temporary failure in name resolution|Network is unreachable|Max retries exceeded|ProxyError"
    r"|Connection refused|ConnectTimeout|ReadTimeout|Name or service not known|SSLError",
)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "origin-rules tests", "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "origin-rules tests", "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}

BAD = """\
agreement "Pilot" {
  parties = [US, MX, XX]
  effective = 2026-01-01

  rule 8708.30 "Brakes" {
    change from any other heading
  }
}
"""
GOOD = BAD.replace("[US, MX, XX]", "[US, MX, CA]")
UNFORMATTED = """\
set   steel = 72,73
agreement "Other" { parties = [US,CA]
effective = 2026-01-01
    rule 94.03 "Furniture" { change from any other chapter } }
"""
TESTS = """\
- name: brake with imported pads
  as_of: 2026-07-01
  rules: [pilot.roo]
  bom:
    product: {id: B-1, hs: "8708.30", produced_in: MX, transaction_value: "100.00"}
    materials:
      - {id: P-1, hs: "6813.81", origin: CN, originating: false, value: "20.00"}
  expect:
    Pilot: qualifies
"""


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def snapshot(dest: Path) -> str:
    """A one-commit git repository of this checkout's installable files; its commit id."""
    listed = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "--", *SNAPSHOT).splitlines()
    dest.mkdir()
    for name in listed:
        src = ROOT / name
        if src.is_file() and "__pycache__" not in src.parts:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "snapshot")
    return git(dest, "rev-parse", "HEAD")


def pre_commit(cwd: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never", "NO_COLOR": "1",
           # pip installs without compiling the bytecode of every file of every dependency (half
           # the install's CPU, plotly's and pyarrow's thousands of modules): the hooks' imports
           # compile what they use, and run the same code.
           "PIP_COMPILE": "0"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1200)


def config(repo: Path, rev: str) -> str:
    return f"""\
repos:
  - repo: {repo}
    rev: {rev}
    hooks:
      - id: origin-rules-check
        args: [rules/]
      - id: origin-rules-fmt
      - id: origin-rules-test
        args: [rules/]
      - id: origin-rules-fmt-write
        stages: [manual]
"""


def hook_status(output: str) -> dict[str, str]:
    """`origin-rules check....Passed` lines -> {"origin-rules check": "Passed"}."""
    return {m.group(1).strip(): m.group(2) for m in re.finditer(r"^(origin-rules [^.\n]*?)\.{2,}(Passed|Failed|Skipped)", output, re.M)}


def test_hooks_reject_bad_and_unformatted_rule_files_then_accept_the_fixes(tmp_path):
    pytest.importorskip("pre_commit", reason="pre-commit is in the dev extra: pip install -e '.[dev]'")
    hooks_repo = tmp_path / "origin-rules"
    rev = snapshot(hooks_repo)
    home = tmp_path / "pre-commit-home"

    user = tmp_path / "trade-rules"
    (user / "rules").mkdir(parents=True)
    (user / "rules" / "pilot.roo").write_text(BAD)
    (user / "rules" / "other.roo").write_text(UNFORMATTED)
    (user / "rules" / "pilot.test.yaml").write_text(TESTS)
    (user / ".pre-commit-config.yaml").write_text(config(hooks_repo, rev))
    git(user, "init", "-q")
    git(user, "add", "-A")

    install = pre_commit(user, home, "install-hooks")
    if install.returncode != 0 and NETWORK.search(install.stdout):
        pytest.skip(f"pre-commit could not reach a package index to build the hook environment: "
                    f"{NETWORK.search(install.stdout).group(0)}")
    assert install.returncode == 0, install.stdout[-5000:]

    first = pre_commit(user, home, "run", "--all-files")
    assert first.returncode == 1, first.stdout
    assert "No such command" not in first.stdout, first.stdout
    status = hook_status(first.stdout)
    assert status.get("origin-rules check") == "Failed", first.stdout
    assert "ROO104" in first.stdout and "rules/pilot.roo:2" in first.stdout
    assert status.get("origin-rules fmt --check") == "Failed", first.stdout
    assert "rules/other.roo" in first.stdout

    # Fix the error by hand, the layout with the fixer hook (which fails: it modified a file).
    (user / "rules" / "pilot.roo").write_text(GOOD)
    fixer = pre_commit(user, home, "run", "--hook-stage", "manual", "origin-rules-fmt-write", "--all-files")
    assert fixer.returncode == 1 and "files were modified by this hook" in fixer.stdout, fixer.stdout
    assert (user / "rules" / "other.roo").read_text() != UNFORMATTED
    git(user, "add", "-A")

    second = pre_commit(user, home, "run", "--all-files")
    assert second.returncode == 0, second.stdout
    assert set(hook_status(second.stdout).values()) == {"Passed"}, second.stdout
    assert {"origin-rules check", "origin-rules fmt --check", "origin-rules test"} <= set(hook_status(second.stdout))
