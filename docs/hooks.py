"""MkDocs hooks: the committed results reports and the speed figures, read at build time.

- Every ``results/<folder>/REPORT.md`` (written by ``nnenc report``) and the PNG figures it
  shows become pages of the site under ``results/<folder>/``, so the results page includes
  the reports themselves instead of numbers copied by hand.
- ``<!-- speed-figures -->`` in a page becomes the tables of ``benchmarks/results/*.csv``
  (:func:`analysis.speed.speed_markdown`).
- ``$$...$$`` blocks and ``$...$`` spans become MathML (``latex2mathml``), which browsers
  render without a script or a network.
"""

from __future__ import annotations

import re
from pathlib import Path

from latex2mathml.converter import convert
from mkdocs.structure.files import File

from analysis.speed import speed_markdown

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^\$\$\n(.+?)\n\$\$$", re.DOTALL | re.MULTILINE)
INLINE = re.compile(r"(?<![\\$`])\$([^$\n`]+?)\$(?!\$)")


def reports() -> list[Path]:
    """The results folders that hold a report."""
    return sorted(path.parent for path in (ROOT / "results").glob("*/REPORT.md"))


def on_files(files, config):
    for folder in reports():
        shown = [folder / "REPORT.md", *sorted((folder / "figures").glob("*.png"))]
        for path in shown:
            uri = path.relative_to(ROOT).as_posix()
            files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def _math(markdown: str) -> str:
    markdown = BLOCK.sub(lambda m: convert(m.group(1), display="block"), markdown)
    return INLINE.sub(lambda m: convert(m.group(1)), markdown)


def on_page_markdown(markdown, page, config, files):
    if "<!-- speed-figures -->" in markdown:
        markdown = markdown.replace("<!-- speed-figures -->", speed_markdown())
    if "$" in markdown and not page.file.src_uri.startswith("results/"):
        markdown = _math(markdown)
    return markdown
