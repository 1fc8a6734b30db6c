"""The documentation cannot rot: what it shows is what the code does.

In: README.md, CONTRIBUTING.md and every page under docs/. Out: one test per page that runs
the page's examples, and tests that the generated pages (CLI reference, JSON Schemas), the
screenshot, the exit-code table and the SARIF help links match the code, and that the site
builds with ``mkdocs build --strict``.

Conventions of a page's fenced blocks (CONTRIBUTING.md, "Documentation"):

* ```` ```console ````: lines starting with ``$ `` are commands (a line ending in ``\\``
  continues onto the next); the lines after a command, up to the next ``$ `` line, are its
  output, stdout and stderr together as a terminal shows them. A line ``...`` stands for
  any number of lines, ``...`` inside a line for any text (counts, timings). Trailing
  whitespace and blank lines around the output are ignored.
* ```` ```sh ```` (``bash``, ``shell``): each command must run; its output is not compared.
* A command must exit 0, unless it ends with the comment ``# exit N``.
* A block with ``title="PATH"`` (```` ```roo title="scenarios/brake-review.roo" ````) is
  saved to PATH before the commands after it run, as a reader would save it.
* ```` ```python ```` blocks that start with an import are whole programs and are run;
  other Python blocks are fragments and are not.
* ``<!-- docs-test: skip -->`` on the line before a block: shown, not run. Commands that set
  up a machine (``make``, ``pip``, ``git``, ``cd``, ``pre-commit``, ``python3 -m venv``) are
  never run.

Each page runs in its own sandbox: a fresh copy of ``rules/``, ``examples/`` and ``docs/``
(and README.md, cli.py) in a folder of its own that is the same from one run to the next
(``.cache/docs-sandboxes/``: emptied before the test, removed after), so that the rulebook
cache's entries for the page's commands (one per working folder and rule files) are read back
by the next run instead of each run parsing the rulebook anew and leaving one more entry
behind (their rulebook cache is a folder of its own, ``.cache/docs-rulebooks/``, see
:data:`DOCS_RULEBOOKS`); the commands are run from its root in order, ``origin-rules``
resolved to this virtualenv's console script. Plain ``origin-rules ...`` commands run in
process (typer's CliRunner: the same app, much faster), with the variables of a leading
``VAR=value`` set for the command as a shell sets them, and so does a plain command whose
stdout is sent to a file (``origin-rules test rules/ --format junit > rule-tests.xml``: the
file gets stdout, the page's output is stderr, as in a terminal); anything else with shell
syntax runs under bash (tests/test_precommit.py and a few pages run the console script
itself). ``origin-rules test`` (4,600 rule tests on ``rules/``, the slowest command of the
docs) is run once per test session for the same arguments on the same files (see
:func:`_remembered`). ``UPDATE_GOLDEN=1 pytest tests/test_docs.py`` rewrites the shown
output of the commands whose output shows no ``...``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"  # as the golden tests: rewrite the shown output

SANDBOX_ITEMS = ("rules", "examples", "docs", "README.md", "cli.py")
SETUP_COMMANDS = ("make", "pip", "pip3", "git", "cd", "pre-commit", "python3 -m venv", "python -m venv", "source")
SHELL_SYNTAX = re.compile(r"[|<>;&$`*?(){}]|\b(?:then|do)\b")
EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
TITLE = re.compile(r'title="([^"]+)"')
SKIP = "<!-- docs-test: skip -->"
#: The rulebook cache of the pages' commands: a folder of their own, so that the rest of the
#: suite (which checks rules in ever-new temporary folders, each an entry of the shared cache,
#: .cache/rulebooks/, which keeps the 64 most recently used) does not push their entries out
#: between runs. An entry is keyed by the rule files' paths and bytes (the sandboxes are the
#: same folders from one run to the next, see :func:`sandbox_home`).
DOCS_RULEBOOKS = ROOT / ".cache" / "docs-rulebooks"
ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "ORIGIN_RULES_CACHE_DIR": str(DOCS_RULEBOOKS)}
LEADING_ENV = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>[\w./:@%+,=-]*)\s+")


def doc_pages() -> list[Path]:
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [p for p in pages if p.exists()]


# ---------------------------------------------------------------------------- reading a page


@dataclass
class Block:
    """A fenced block: its language, title, body lines and where the body starts (0-based)."""

    lang: str
    title: str | None
    lines: list[str]
    start: int
    skip: bool
    indent: str = ""


@dataclass
class Command:
    text: str  # the command as run (continuations joined)
    line: int  # 1-based line of the page
    exit: int
    expected: list[str] | None = None  # console blocks: the shown output
    span: tuple[int, int, str] | None = None  # 0-based [start, end) lines of the shown output, indent
    run: bool = True


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown page (indented ones too, as in tabs and admonitions)."""
    lines = text.split("\n")
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m["indent"], m["fence"], m["info"].strip()
        j = i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence) and lines[j].strip().strip(fence[0]) == ""):
            j += 1
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[i + 1 : j]]
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        title = TITLE.search(info)
        lang = info.split()[0].lower() if info.split() else ""
        out.append(Block(lang, title.group(1) if title else None, body, i + 1, k >= 0 and lines[k].strip() == SKIP, indent))
        i = j + 1
    return out


def _split_exit(command: str) -> tuple[str, int]:
    m = EXIT.search(command)
    return (command[: m.start()], int(m.group(1))) if m else (command, 0)


def _is_setup(command: str) -> bool:
    return any(command == s or command.startswith(s + " ") for s in SETUP_COMMANDS)


def console_commands(block: Block) -> list[Command]:
    cmds: list[Command] = []
    i = 0
    lines = block.lines
    while i < len(lines):
        if not lines[i].startswith("$ "):
            i += 1
            continue
        first = i
        text = lines[i][2:]
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text[:-1].rstrip() + " " + lines[i].strip()
        i += 1
        out_start = i
        while i < len(lines) and not lines[i].startswith("$ "):
            i += 1
        text, code = _split_exit(text.strip())
        cmds.append(Command(text, block.start + first + 1, code, lines[out_start:i],
                            (block.start + out_start, block.start + i, block.indent), not _is_setup(text)))
    return cmds


def sh_commands(block: Block) -> list[Command]:
    cmds: list[Command] = []
    i = 0
    lines = block.lines
    while i < len(lines):
        first = i
        text = lines[i].strip()
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text[:-1].rstrip() + " " + lines[i].strip()
        i += 1
        if not text or text.startswith("#"):
            continue
        text, code = _split_exit(text)
        cmds.append(Command(text, block.start + first + 1, code, run=not _is_setup(text)))
    return cmds


# ---------------------------------------------------------------------------- running commands


def _in_process_argv(command: str) -> list[str] | None:
    """The arguments of a plain `origin-rules ...` command, or None when it needs a shell."""
    try:
        argv = shlex.split(command, comments=True)
    except ValueError:
        return None
    stripped = re.sub(r"'[^']*'|\"[^\"]*\"", "", command.split(" #")[0])
    if not argv or SHELL_SYNTAX.search(stripped):
        return None
    if argv[0] in ("origin-rules", ".venv/bin/origin-rules"):
        return argv[1:]
    if argv[:2] in (["python", "cli.py"], [".venv/bin/python", "cli.py"]):
        return argv[2:]
    return None


def _leading_env(command: str) -> tuple[dict[str, str], str]:
    """``VAR=value ... origin-rules ARGS``: the variables a shell would set for the one command,
    and the rest of the command (``({}, command)`` when it sets none). Only plain values
    (no quotes, no ``$``): anything else is left to bash."""
    env: dict[str, str] = {}
    rest = command.lstrip()
    while m := LEADING_ENV.match(rest):
        env[m["name"]] = m["value"]
        rest = rest[m.end():]
    return env, rest


def _commands() -> set[str]:
    import typer.main

    from origin_rules.cli import app

    return set(typer.main.get_command(app).commands)


def _missing_command(command: str) -> str | None:
    argv = _in_process_argv(command)
    if argv and not argv[0].startswith("-") and argv[0] not in _commands():
        return argv[0]
    return None


REDIRECT = re.compile(r"^(?P<command>[^<>|;&`$]+?)\s+>\s*(?P<file>[\w./-]+)$")
#: Commands that only read files, whose result is kept for the test session (_remembered).
REMEMBERED = ("test",)
MEMO: Path | None = None  # set by the `memo` fixture: a folder shared by the xdist workers


def _redirected(command: str) -> tuple[list[str], str] | None:
    """``origin-rules ARGS > FILE`` (stdout to a plain file name): ARGS and FILE, else None."""
    m = REDIRECT.match(command.split(" #")[0].strip())
    if m is None or re.search(r"\s\d+$", m["command"]):  # `2> FILE` redirects stderr: bash runs it
        return None
    argv = _in_process_argv(m["command"])
    return (argv, m["file"]) if argv is not None else None


def _invoke(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str, str]:
    """The app run in process from ``cwd`` (with ``env`` set for the command, as ``VAR=value``
    before it in a shell): exit code, stdout+stderr interleaved, stdout, stderr."""
    from typer.testing import CliRunner

    from origin_rules.cli import app

    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, argv, env={**ENV, **(env or {})}, catch_exceptions=True)
    finally:
        os.chdir(old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        tb = "".join(traceback.format_exception(result.exception))
        note = "\n[a traceback reached the user]\n" + tb
        return 99, result.output + note, result.stdout, result.stderr + note
    return result.exit_code, result.output, result.stdout, result.stderr


def _inputs_digest(box: Path, argv: list[str]) -> str:
    """A digest (names and contents) of the files a command can read: every file of the
    repository's copy in the sandbox (SANDBOX_ITEMS, as the page may have changed them: a rule
    test's BOM is in examples/) and every file under a path the command names (``my-tests/``).
    Files a page wrote elsewhere for other commands (``out.sarif``, ``drafts/``) are not in it."""
    roots = [box / name for name in SANDBOX_ITEMS]
    roots += [box / arg for arg in argv[1:] if not arg.startswith("-") and (box / arg).exists()]
    files: set[Path] = set()
    for root in roots:
        if root.is_file():
            files.add(root)
        elif root.is_dir():
            files.update(p for p in root.rglob("*") if p.is_file())
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(str(path.relative_to(box)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _remembered(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str, str]:
    """:func:`_invoke` for a command that only reads files, run once per session for the same
    arguments on the same files (every file of the sandbox, by content) and then reused.

    ``origin-rules test rules/ --coverage --threshold 100 --quiet`` is shown on three pages and in
    two CI files; each run is ~35 s of CPU. The key holds the arguments and every input file, so
    a page that changed a rule or a test file before the command gets its own run
    (:func:`_inputs_digest`). The result is
    a file shared by the xdist workers, written under a lock, so two workers do not both run it.
    """
    if MEMO is None or argv[0] not in REMEMBERED:
        return _invoke(argv, cwd, env)
    box = str(cwd.resolve())
    key = hashlib.sha256(json.dumps([argv, ENV, env or {}, _inputs_digest(cwd, argv)]).encode()).hexdigest()[:32]
    MEMO.mkdir(parents=True, exist_ok=True)
    with open(MEMO / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = MEMO / f"{key}.json"
        if saved.exists():
            code, *texts = json.loads(saved.read_text(encoding="utf-8"))
            return code, *(text.replace("\0BOX\0", box) for text in texts)
        code, *texts = _invoke(argv, cwd, env)
        tmp = saved.with_suffix(".tmp")
        tmp.write_text(json.dumps([code, *(text.replace(box, "\0BOX\0") for text in texts)]), encoding="utf-8")
        tmp.replace(saved)
        return code, *texts


@pytest.fixture(scope="session", autouse=True)
def memo(tmp_path_factory):
    """The folder of remembered command results, shared by every xdist worker of this run."""
    global MEMO
    base = tmp_path_factory.getbasetemp()
    MEMO = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "docs-commands"
    yield MEMO
    MEMO = None


def run_command(command: str, cwd: Path) -> tuple[int, str]:
    """Run one command as the docs show it; the exit code and stdout+stderr interleaved."""
    env, plain = _leading_env(command)
    argv = _in_process_argv(plain)
    if argv is not None:
        code, output, _, _ = _remembered(argv, cwd, env)
        return code, output
    redirect = _redirected(plain)
    if redirect is not None and (cwd / redirect[1]).resolve().parent.is_dir() \
            and (cwd / redirect[1]).resolve().is_relative_to(cwd.resolve()):
        argv, file = redirect
        code, _, stdout, stderr = _remembered(argv, cwd, env)
        (cwd / file).write_text(stdout, encoding="utf-8")
        return code, stderr
    env = {**os.environ, **ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "VIRTUAL_ENV": str(BIN.parent)}
    proc = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)
    return proc.returncode, proc.stdout


def normalise(text: str | list[str]) -> list[str]:
    lines = [line.rstrip() for line in (text.split("\n") if isinstance(text, str) else text)]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _line_pattern(line: str) -> str:
    return "[^\n]*".join(re.escape(part) for part in line.split("...")) + r"\n"


def output_matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line; a line `...` matches any number of lines, `...` in a line any text."""
    pattern = "".join(r"(?:[^\n]*\n)*?" if line.strip() == "..." else _line_pattern(line) for line in expected)
    return re.fullmatch(pattern, "".join(line + "\n" for line in actual)) is not None


SANDBOXES = ROOT / ".cache" / "docs-sandboxes"


@pytest.fixture
def sandbox_home(request) -> Path:
    """The test's own folder under :data:`SANDBOXES`, named after the test (the same in every
    run), empty; locked while the test runs (another test session in the same checkout waits);
    removed after."""
    name = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")[:100]
    SANDBOXES.mkdir(parents=True, exist_ok=True)
    with open(SANDBOXES / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        folder = SANDBOXES / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def make_sandbox(tmp: Path) -> Path:
    box = tmp / "repo"
    box.mkdir()
    for name in SANDBOX_ITEMS:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, box / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, box / name)
    (box / ".venv").symlink_to(BIN.parent)
    return box


@dataclass
class PageRun:
    page: Path
    box: Path
    problems: list[str] = field(default_factory=list)
    rewrites: list[tuple[tuple[int, int, str], list[str]]] = field(default_factory=list)
    saved: set[str] = field(default_factory=set)
    ran: int = 0

    def where(self, line: int) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}:{line}"

    def save(self, block: Block) -> None:
        target = (self.box / block.title).resolve()
        if not target.is_relative_to(self.box.resolve()):
            self.problems.append(f"{self.where(block.start)}: title={block.title!r} is outside the sandbox")
            return
        if target.exists() and block.title not in self.saved:
            self.problems.append(f"{self.where(block.start)}: title={block.title!r} would overwrite a file of the repository")
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(block.lines).rstrip("\n") + "\n", encoding="utf-8")
        self.saved.add(block.title)

    def command(self, cmd: Command) -> None:
        if not cmd.run:
            return
        self.ran += 1
        code, output = run_command(cmd.text, self.box)
        actual = normalise(output)
        if code != cmd.exit:
            missing = _missing_command(cmd.text)
            hint = f": add `# exit {code}` after the command" if cmd.exit == 0 and code in (1, 2) else ""
            if missing:
                hint = f": the app has no command `{missing}` (origin_rules/cli/ registers {sorted(_commands())})"
            self.problems.append(f"{self.where(cmd.line)}: `{cmd.text}` exited {code}, the docs say {cmd.exit}{hint}\n"
                                 + "\n".join("    " + line for line in actual[-40:]))
        if cmd.expected is None:
            return
        expected = normalise(cmd.expected)
        if output_matches(expected, actual):
            return
        if UPDATE and not any("..." in line for line in expected):
            self.rewrites.append((cmd.span, actual))
            return
        import difflib

        diff = "\n".join(difflib.unified_diff(expected, actual, "shown in the docs", "actual output", lineterm="", n=2))
        self.problems.append(f"{self.where(cmd.line)}: the output of `{cmd.text}` differs:\n{diff}")

    def python(self, block: Block) -> None:
        self.ran += 1
        code = "\n".join(block.lines)
        proc = subprocess.run([sys.executable, "-c", code], cwd=self.box, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=300, env={**os.environ, **ENV})
        if proc.returncode != 0:
            self.problems.append(f"{self.where(block.start)}: the Python example failed:\n{proc.stdout[-3000:]}")

    def apply_rewrites(self) -> None:
        lines = self.page.read_text(encoding="utf-8").split("\n")
        for (start, end, indent), actual in sorted(self.rewrites, reverse=True):
            old = lines[start:end]
            tail = 0
            while tail < len(old) and not old[-1 - tail].strip():
                tail += 1
            lines[start:end] = [indent + line if line else line for line in actual] + [""] * tail
        self.page.write_text("\n".join(lines), encoding="utf-8")


def _is_program(block: Block) -> bool:
    """A Python block that starts with an import is a whole program; others are fragments."""
    code = [line for line in block.lines if line.strip() and not line.lstrip().startswith("#")]
    return bool(code) and code[0].startswith(("import ", "from "))


def run_page(page: Path, tmp: Path) -> PageRun:
    run = PageRun(page, make_sandbox(tmp))
    for block in blocks(page.read_text(encoding="utf-8")):
        if block.skip:
            continue
        if block.title:
            run.save(block)
        if block.lang == "console":
            for cmd in console_commands(block):
                run.command(cmd)
        elif block.lang in ("sh", "bash", "shell"):
            for cmd in sh_commands(block):
                run.command(cmd)
        elif block.lang in ("python", "py") and not block.title and _is_program(block):
            run.python(block)
    if run.rewrites:
        run.apply_rewrites()
    return run


@pytest.mark.slow  # every command of the page, several of them over the whole rulebook
@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_page_examples_run_as_shown(page, sandbox_home):
    run = run_page(page, sandbox_home)
    assert not run.problems, "\n\n".join(run.problems)


# ---------------------------------------------------------------------------- the harness itself


def test_wildcard_matching():
    assert output_matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert output_matches(["a", "...", "d"], ["a", "d"])
    assert output_matches(["...", "d"], ["x", "d"])
    assert not output_matches(["a", "...", "d"], ["a", "b", "c"])
    assert not output_matches(["a", "b"], ["a", "b", "c"])
    assert output_matches(normalise("a  \n\nb\n\n"), ["a", "", "b"])
    assert output_matches(["554 passed, 0 failed (... cases)"], ["554 passed, 0 failed (554 cases)"])
    assert not output_matches(["... passed, 0 failed"], ["3 passed, 1 failed"])


def test_harness_reads_console_sh_titles_and_exits():
    page = "\n".join([
        "text",
        '```roo title="x/a.roo"',
        "agreement \"A\" { parties = [US] }",
        "```",
        SKIP,
        "```sh",
        "make everything",
        "```",
        "```console",
        "$ origin-rules check \\",
        "    x/  # exit 1",
        "out 1",
        "...",
        "$ echo hi",
        "hi",
        "```",
        "```sh",
        "pip install x",
        "origin-rules test rules/   # a comment",
        "```",
    ])
    bs = blocks(page)
    assert [(b.lang, b.title, b.skip) for b in bs] == [("roo", "x/a.roo", False), ("sh", None, True),
                                                       ("console", None, False), ("sh", None, False)]
    c1, c2 = console_commands(bs[2])
    assert (c1.text, c1.exit, c1.expected, c1.line) == ("origin-rules check x/", 1, ["out 1", "..."], 10)
    assert (c2.text, c2.exit, c2.expected) == ("echo hi", 0, ["hi"])
    pip, test = sh_commands(bs[3])
    assert not pip.run and test.run and test.exit == 0
    assert _in_process_argv(test.text) == ["test", "rules/"]
    assert _in_process_argv("origin-rules check --format sarif rules/ > out.sarif") is None
    assert _redirected("origin-rules check --format sarif rules/ > out.sarif  # exit 1") == (
        ["check", "--format", "sarif", "rules/"], "out.sarif")
    for shell in ("origin-rules check rules/ 2> err.txt", "origin-rules check rules/ >> log.txt",
                  "origin-rules check rules/ | tee out.txt > x", "origin-rules check $DIR > out.txt",
                  "cat a > b"):
        assert _redirected(shell) is None, shell
    assert _in_process_argv('origin-rules evaluate b.yaml --under "USMCA review 2026: China content cap"') == [
        "evaluate", "b.yaml", "--under", "USMCA review 2026: China content cap"]
    assert _leading_env("ORIGIN_RULES_DB=audit.sqlite3 A=1 origin-rules audit list") == (
        {"ORIGIN_RULES_DB": "audit.sqlite3", "A": "1"}, "origin-rules audit list")
    for shell in ('DB="a b" origin-rules audit list', "DB=$HOME/a origin-rules audit list", "origin-rules check A=1"):
        assert _leading_env(shell) == ({}, shell), shell


def test_a_leading_variable_is_set_for_the_command_run_in_process(tmp_path):
    box = make_sandbox(tmp_path)
    code, shown = run_command("ORIGIN_RULES_DB=mine.sqlite3 origin-rules audit token create a@example.com --role analyst", box)
    assert code == 0, shown
    assert (box / "mine.sqlite3").is_file()
    assert os.environ.get("ORIGIN_RULES_DB") != "mine.sqlite3"  # for that command only


def test_a_page_that_lies_fails(tmp_path, sandbox_home, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "UPDATE", False)
    page = tmp_path / "lie.md"
    page.write_text("\n".join([
        "```console",
        "$ origin-rules check rules/",
        "3 errors, 0 warnings in 4 files",
        "$ origin-rules check rules/does-not-exist.roo",
        "...",
        "```",
    ]), encoding="utf-8")
    run = PageRun(page, make_sandbox(sandbox_home))
    for block in blocks(page.read_text()):
        for cmd in console_commands(block):
            run.command(cmd)
    assert len(run.problems) == 2
    assert "differs" in run.problems[0] and "exited 2, the docs say 0" in run.problems[1]


def test_a_redirected_command_writes_stdout_to_the_file_and_shows_stderr(tmp_path):
    box = make_sandbox(tmp_path)
    (box / "bad.roo").write_text('agreement "A" {\n  parties = [XX]\n}\n')
    code, shown = run_command("origin-rules check --format sarif bad.roo > out.sarif", box)
    assert code == 1 and shown == ""
    assert json.loads((box / "out.sarif").read_text())["runs"][0]["results"]
    code, shown = run_command("origin-rules test nowhere/ --format junit > out.xml", box)
    assert code == 2 and "error:" in shown and "nowhere" in shown  # stderr shown
    assert "<testsuite" in (box / "out.xml").read_text() and "<testsuite" not in shown  # stdout in the file


def test_a_remembered_command_runs_again_when_an_input_changes(tmp_path, monkeypatch):
    calls = []
    real = _invoke
    monkeypatch.setattr(sys.modules[__name__], "_invoke", lambda argv, cwd, env=None: calls.append(argv) or real(argv, cwd, env))
    box = tmp_path / "box"
    shutil.copytree(ROOT / "tests" / "data" / "testrunner" / "sample", box / "t")
    first = run_command("origin-rules test t/ --quiet", box)
    assert run_command("origin-rules test t/ --quiet", box) == first and len(calls) == 1
    assert run_command("origin-rules test t/", box) != first and len(calls) == 2  # other arguments
    (box / "t" / "new.roo").write_text((box / "t" / next(p.name for p in (box / "t").glob("*.roo"))).read_text())
    run_command("origin-rules test t/ --quiet", box)
    assert len(calls) == 3  # a new file under the folder tested: run again
    (box / "examples").mkdir()
    (box / "examples" / "bom.yaml").write_text("product: {}\n")
    run_command("origin-rules test t/ --quiet", box)
    assert len(calls) == 4  # a new file in the repository's copy: run again
    (box / "report.xml").write_text("<x/>")
    run_command("origin-rules test t/ --quiet", box)
    assert len(calls) == 4  # a file outside both (another command's output): the same inputs
    run_command("NO_COLOR=0 origin-rules test t/ --quiet", box)
    assert len(calls) == 5  # a variable set for the command: run again


# ---------------------------------------------------------------------------- generated pages


def _script(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_and_schemas_are_current():
    gen = _script("gen_cli_docs")
    stale = [str(path.relative_to(ROOT)) for path, text in gen.outputs().items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    assert not stale, f"out of date: {stale}; run `.venv/bin/python scripts/gen_cli_docs.py` (make docs does)"


def test_cli_reference_covers_every_command_and_option():
    import typer.main

    from origin_rules.cli import app

    group = typer.main.get_command(app)
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for name, command in group.commands.items():
        assert f"## origin-rules {name}" in page
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert f"`{opt}" in page, (name, opt)


def _png_text(path: Path) -> dict[str, str]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, i = {}, 8
    while i < len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        kind = data[i + 4 : i + 8]
        body = data[i + 8 : i + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            out[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            out[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        i += 12 + length
    return out


def test_screenshot_shows_the_current_output(sandbox_home):
    shot = _script("screenshot")
    meta = _png_text(ROOT / shot.PNG)
    assert meta.get("origin-rules-command") == shot.COMMAND_TEXT, "run `.venv/bin/python scripts/screenshot.py`"
    code, output = run_command(shot.COMMAND_TEXT, make_sandbox(sandbox_home))
    assert code == 0
    assert meta.get("origin-rules-output-sha256") == shot.fingerprint(shot.screen_text(output)), (
        "the screenshot no longer shows what the command prints: run `.venv/bin/python scripts/screenshot.py` "
        "(needs the docs extra: pip install -e '.[docs]')")


# ---------------------------------------------------------------------------- one source of facts


def test_exit_code_table_names_every_command():
    import typer.main

    from origin_rules.cli import app
    from origin_rules.cli.common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE

    page = (ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `origin-rules (\w+)", page, re.M)
    assert sorted(rows) == sorted(typer.main.get_command(app).commands)
    assert (EXIT_OK, EXIT_FINDINGS, EXIT_USAGE) == (0, 1, 2)
    for code in ("0", "1", "2"):
        assert re.search(rf"^\| {code} \|", page, re.M), code


def test_sarif_help_links_point_at_sections_of_the_docs(tmp_path):
    from origin_rules.model import diagnostic_codes

    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    site = re.search(r"^site_url:\s*(\S+)", config, re.M).group(1).rstrip("/") + "/"
    errors = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    anchors = {m.lower() for m in re.findall(r"^## (ROO\d{3})\s*$", errors, re.M)}
    assert {c.lower() for c in diagnostic_codes.TITLES} <= anchors
    box = make_sandbox(tmp_path)
    (box / "bad.roo").write_text('agreement "A" {\n  parties = [XX]\n  rule 87.03 { rvc(net_cost) >= 150% }\n}\n')
    code, output = run_command("origin-rules check --format sarif bad.roo", box)
    assert code == 1
    rules = json.loads(output)["runs"][0]["tool"]["driver"]["rules"]
    assert rules
    for rule in rules:
        assert rule["helpUri"] == f"{site}errors/#{rule['id'].lower()}", "SARIF helpUri and mkdocs site_url disagree"


def test_hooks_offer_check_fmt_and_test():
    import yaml

    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert {"origin-rules-check", "origin-rules-fmt", "origin-rules-test"} <= set(hooks)
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["entry"].startswith("origin-rules ")


@pytest.mark.slow  # the CI files' commands: check, test and diff of the whole rulebook
def test_ci_examples_use_commands_that_exist(sandbox_home):
    """Every `origin-rules ...` line of the example CI files runs, on clean rules, with exit 0."""
    import yaml

    box = make_sandbox(sandbox_home)
    shutil.copytree(box / "rules", box / "base" / "rules")  # the base branch, checked out into base/
    (box / "boms").symlink_to(box / "examples" / "boms")  # a portfolio of BOMs
    problems = []
    files = sorted([*(ROOT / "examples" / "ci").glob("*.yml"), *(ROOT / "examples" / "ci").glob("*.yaml")])
    assert len(files) >= 3
    seen: set[str] = set()
    for path in files:
        yaml.safe_load(path.read_text(encoding="utf-8"))
        for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            m = re.match(r"\s*(?:- |run: |script: )?(origin-rules .*)$", line)
            if not m:
                continue
            text, want = _split_exit(m.group(1).split(" || ")[0].strip())
            if text in seen:
                continue
            seen.add(text)
            code, output = run_command(text, box)
            if code not in (want, 0):
                problems.append(f"{path.name}:{n}: `{text}` exited {code}\n{output[-2000:]}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------- the site builds


@pytest.mark.slow  # mkdocs in a new process
def test_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
    pytest.importorskip("material", reason="the docs extra is not installed: pip install -e '.[docs]'")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stdout[-5000:]
    site = tmp_path / "site"
    for page in ("index.html", "cli/index.html", "schemas/index.html", "tutorial/analyst/index.html",
                 "errors/index.html", "language/index.html", "ci/index.html", "exit-codes/index.html"):
        assert (site / page).exists(), page
    assert (site / "assets" / "evaluate.png").exists()
