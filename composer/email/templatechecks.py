"""Checks of the project's own email templates: CSS that mail clients ignore, and where a finding
of the finished email comes from in them.

Gmail and Outlook ignore chained and descendant class selectors (`.c .m`, `.a.b`); Gmail drops a
`white-space` rule on `pre`; capitals belong in the text, not in `text-transform`. Only the CSS
the templates write is checked: what MJML itself emits is out of our hands.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from composer.errors import Problem

TEMPLATES = "templates"
CSS_TEMPLATE = "email.css.j2"
HTML_TEMPLATE = "email.mjml.j2"

_JINJA = re.compile(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", re.S)
_MJ_STYLE = re.compile(r"<mj-style[^>]*>(.*?)</mj-style>", re.S)
_RULE = re.compile(r"([^{};]+)\{([^{}]*)\}")
_COMBINED = re.compile(r"\.[\w-]+[^\s>+~]*\.[\w-]|\.[\w-]+.*?[\s>+~]\s*[\w.#*\[]|[\w\]*]\s*[\s>+~]\s*\.[\w-]")


def template_line(root: Path, needle: str, suffix: str = ".j2") -> tuple[str, int] | None:
    """The first template (email.* first, then partials) and line that holds needle."""
    folder = root / TEMPLATES
    names = sorted(path.name for path in folder.glob(f"*{suffix}"))
    for name in sorted(names, key=lambda n: not n.startswith("email.")):
        for number, line in enumerate((folder / name).read_text(encoding="utf-8").splitlines(), 1):
            if needle in line:
                return f"{TEMPLATES}/{name}", number
    return None


def check_template_css(root: Path) -> list[Problem]:
    """Every rule of the templates' CSS that a major mail client ignores, at its line."""
    problems: list[Problem] = []
    for name in (CSS_TEMPLATE, HTML_TEMPLATE):
        path = root / TEMPLATES / name
        if not path.exists():
            continue  # rendering reports the missing template
        source = _JINJA.sub(
            lambda match: "x" if match[0][:2] == "{{" else "\n" * match[0].count("\n"),
            path.read_text("utf-8"),
        )
        blocks = (
            [(0, source)]
            if name == CSS_TEMPLATE
            else [(m.start(1), m[1]) for m in _MJ_STYLE.finditer(source)]
        )
        for offset, css in blocks:
            problems += _rules(css, offset, source, f"{TEMPLATES}/{name}")
    return problems


def _rules(css: str, offset: int, source: str, file: str) -> Iterator[Problem]:
    for rule in _RULE.finditer(css):
        prelude = rule[1].split("{")[-1].strip()
        line = source.count("\n", 0, offset + rule.start(1) + len(rule[1]) - len(rule[1].lstrip())) + 1
        selectors = [s.strip() for s in prelude.split(",")]
        for selector in selectors:
            if _COMBINED.search(selector):
                yield Problem(
                    file,
                    f"selector `{selector}` chains or nests classes: Gmail and Outlook ignore it; "
                    "give the element a class of its own",
                    line,
                    severity="warning",
                )
        declarations = rule[2].lower()
        if "white-space" in declarations and any(re.search(r"\bpre\b", s) for s in selectors):
            yield Problem(
                file,
                "a white-space rule on `pre` is dropped by Gmail: leave `pre` unstyled",
                line,
                severity="warning",
            )
        if "text-transform" in declarations:
            yield Problem(
                file,
                "text-transform is not supported everywhere: write the capitals in the text",
                line,
                severity="warning",
            )
