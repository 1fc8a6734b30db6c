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

The hooks' environment is kept from one run to the next in ``.cache/pre-commit/``: pre-commit's
home and the snapshot it was built from, in a folder named by the digest of what decides what
pre-commit builds (pyproject.toml: the package and its dependencies; .pre-commit-hooks.yaml:
the hooks; the Python running pre-commit). pre-commit builds it the first time, and again
(the old folder removed) whenever one of those changes. When only the package's code changed
since, the package alone is installed again into that environment from a snapshot of this
checkout (``pip install --no-deps``, as pre-commit installs it, minus the unchanged
dependencies), so the hooks always run this checkout's code.
"""

from __future__ import annotations

import fcntl
import hashlib
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
#: What decides the environment pre-commit builds for the hooks (the rest is the package's code).
BUILD_INPUTS = ("pyproject.toml", ".pre-commit-hooks.yaml")
CACHE = ROOT / ".cache" / "pre-commit"
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
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:  # git's own message, not only its exit status
        raise AssertionError(f"git {' '.join(args)} in {cwd} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout.strip()


def installable_files() -> list[str]:
    """The files this checkout would commit of :data:`SNAPSHOT` (relative paths, sorted)."""
    listed = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "--", *SNAPSHOT).splitlines()
    return sorted(name for name in listed if (ROOT / name).is_file() and "__pycache__" not in Path(name).parts)


def digest(names) -> str:
    h = hashlib.sha256()
    for name in names:
        h.update(name.encode() + b"\0" + (ROOT / name).read_bytes() + b"\0")
    return h.hexdigest()


def copy_files(names: list[str], dest: Path) -> None:
    dest.mkdir(parents=True)
    for name in names:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)


def snapshot(dest: Path, names: list[str]) -> str:
    """A one-commit git repository of this checkout's installable files; its commit id."""
    copy_files(names, dest)
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


def skip_without_an_index(output: str) -> None:
    found = NETWORK.search(output)
    if found:
        pytest.skip(f"pre-commit could not reach a package index to build the hook environment: {found.group(0)}")


@pytest.fixture
def kept_environment():
    """The folder of the hooks' environment (:data:`CACHE`), locked while the test runs: its
    name is the digest of :data:`BUILD_INPUTS` and the Python; the folders of other digests
    (an older pyproject.toml) are removed, and so is one whose environment was never finished."""
    CACHE.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(f"{sys.executable}\0{sys.version}\0{digest(BUILD_INPUTS)}".encode()).hexdigest()[:16]
    with open(CACHE / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for old in CACHE.iterdir():
            if old.is_dir() and (old.name != key or not (old / "built").exists()):
                shutil.rmtree(old)
        yield CACHE / key


def install_the_package_again(home: Path, names: list[str], tmp_path: Path) -> None:
    """This checkout's package into the hooks' environment, its dependencies as they are."""
    pythons = sorted(home.glob("repo*/py_env-*/bin/python"))
    assert len(pythons) == 1, pythons
    copy_files(names, tmp_path / "package")
    env = {**os.environ, "PIP_COMPILE": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("VIRTUAL_ENV", None)
    run = subprocess.run([str(pythons[0]), "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall",
                          str(tmp_path / "package")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=600)
    if run.returncode != 0:
        skip_without_an_index(run.stdout)
    assert run.returncode == 0, run.stdout[-5000:]


def test_hooks_reject_bad_and_unformatted_rule_files_then_accept_the_fixes(tmp_path, kept_environment):
    pytest.importorskip("pre_commit", reason="pre-commit is in the dev extra: pip install -e '.[dev]'")
    names = installable_files()
    kept = kept_environment
    hooks_repo, home = kept / "origin-rules", kept / "pre-commit-home"
    if not kept.exists():
        kept.mkdir()
        (kept / "rev").write_text(snapshot(hooks_repo, names))
        (kept / "installed").write_text(digest(names))
    rev = (kept / "rev").read_text()

    user = tmp_path / "trade-rules"
    (user / "rules").mkdir(parents=True)
    (user / "rules" / "pilot.roo").write_text(BAD)
    (user / "rules" / "other.roo").write_text(UNFORMATTED)
    (user / "rules" / "pilot.test.yaml").write_text(TESTS)
    (user / ".pre-commit-config.yaml").write_text(config(hooks_repo, rev))
    git(user, "init", "-q")
    git(user, "add", "-A")

    install = pre_commit(user, home, "install-hooks")  # builds the environment unless kept
    if install.returncode != 0:
        skip_without_an_index(install.stdout)
    assert install.returncode == 0, install.stdout[-5000:]
    (kept / "built").touch()
    if (kept / "installed").read_text() != digest(names):  # the package's code changed since
        install_the_package_again(home, names, tmp_path)
        (kept / "installed").write_text(digest(names))

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
