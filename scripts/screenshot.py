"""Render the real output of `origin-rules evaluate` as a terminal screenshot for the docs.

In: the command below, run from the repository root with this virtualenv. Out:
``docs/assets/evaluate.png``, a picture of a 132-column terminal showing the command and what
it printed (long lines wrap as a terminal wraps them), drawn with Pillow in DejaVu Sans Mono.
The PNG carries the command and the sha256 of the text it shows (``tEXt`` chunks), so
tests/test_docs.py can tell when the picture no longer shows what the command prints (line
numbers of rule files aside: ``fingerprint`` leaves them out, so that editing a rule file
does not call for a new picture).

    .venv/bin/pip install -e '.[docs]'      # Pillow
    .venv/bin/python scripts/screenshot.py
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PNG = "docs/assets/evaluate.png"
COMMAND = ["origin-rules", "evaluate", "examples/boms/brake-assembly.yaml",
           "--under", "USMCA review 2026: China content cap", "--as-of", "2026-07-01"]
COMMAND_TEXT = shlex.join(COMMAND).replace("'", '"')
COLUMNS = 132
SCALE = 2  # drawn at twice the size, for sharp text on high-density screens

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/TTF/DejaVuSansMono.ttf",
    "/Library/Fonts/DejaVuSansMono.ttf",
    "DejaVuSansMono.ttf",
)
BACKGROUND = (30, 33, 39)
TITLE_BAR = (44, 48, 56)
TEXT = (220, 223, 228)
PROMPT = (152, 195, 121)
DIM = (130, 137, 151)


def screen_text(output: str) -> str:
    """What the terminal shows: the prompt line, then the output without trailing spaces."""
    lines = [line.rstrip() for line in output.rstrip("\n").split("\n")]
    return "\n".join([f"$ {COMMAND_TEXT}", *lines]) + "\n"


def fingerprint(text: str) -> str:
    """The sha256 of the shown text, with the line numbers of rule files left out."""
    return hashlib.sha256(re.sub(r"\.roo:\d+", ".roo:N", text).encode("utf-8")).hexdigest()


def wrapped(text: str) -> list[str]:
    rows = []
    for line in text.rstrip("\n").split("\n"):
        while len(line) > COLUMNS:
            rows.append(line[:COLUMNS])
            line = line[COLUMNS:]
        rows.append(line)
    return rows


def run() -> str:
    exe = Path(sys.executable).parent / "origin-rules"
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    proc = subprocess.run([str(exe), *COMMAND[1:]], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return proc.stdout


def font(size: int):
    from PIL import ImageFont

    for candidate in FONT_CANDIDATES:
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    raise SystemExit("DejaVu Sans Mono not found: install fonts-dejavu-core (Debian) or the font for your system")


def render(text: str, path: Path) -> None:
    from PIL import Image, ImageDraw
    from PIL.PngImagePlugin import PngInfo

    size = 14 * SCALE
    mono = font(size)
    char_w = mono.getlength("M")
    line_h = round(size * 1.4)
    pad = 16 * SCALE
    bar = 28 * SCALE
    rows = wrapped(text)
    width = int(pad * 2 + char_w * COLUMNS)
    height = bar + pad * 2 + line_h * len(rows)
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, width, bar], fill=TITLE_BAR)
    for i, colour in enumerate(((237, 106, 94), (245, 191, 79), (98, 197, 84))):
        cx, cy, r = pad + i * 20 * SCALE, bar // 2, 6 * SCALE
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    title = "origin-rules evaluate"
    draw.text(((width - mono.getlength(title) * 0.8) / 2, bar / 2), title, font=font(int(size * 0.8)), fill=DIM, anchor="lm")
    y = bar + pad
    for n, row in enumerate(rows):
        if n == 0 and row.startswith("$ "):
            draw.text((pad, y), "$", font=mono, fill=PROMPT)
            draw.text((pad + char_w * 2, y), row[2:], font=mono, fill=TEXT)
        else:
            draw.text((pad, y), row, font=mono, fill=TEXT)
        y += line_h
    info = PngInfo()
    info.add_text("origin-rules-command", COMMAND_TEXT)
    info.add_text("origin-rules-output-sha256", fingerprint(text))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.quantize(colors=128, method=Image.Quantize.FASTOCTREE).save(path, pnginfo=info, optimize=True)


def main() -> int:
    text = screen_text(run())
    render(text, ROOT / PNG)
    sys.stderr.write(f"written: {PNG} ({len(wrapped(text))} rows)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
