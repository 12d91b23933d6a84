"""A griffe extension for the API pages: nnenc's docstrings use Sphinx roles
(``:class:`~nnenc.zoo.Zoo```); mkdocstrings renders Markdown, so each role becomes a code span
of the name it points at (the last part, where the role says ``~``)."""

from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|mod|data|exc|obj):`(~?)([^`]+)`")


def _span(match: re.Match) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_span, obj.docstring.value)
