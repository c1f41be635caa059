"""Markdown from issue files: safe HTML for the email, readable text for the plain part."""

from __future__ import annotations

import re

import lxml.html
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.email.markdown import CODE_CONTINUED, WIDTH, TextLinks, to_html, to_text, wrap


def text(source: str) -> tuple[str, str]:
    links = TextLinks()
    return to_text(source, links), links.notes()


def test_lists_quotes_and_emphasis_in_text() -> None:
    body, notes = text(
        "Intro with **bold** and *emphasis*.\n\n"
        "- first\n- second, long enough to wrap " + "word " * 16 + "\n\n"
        "3. three\n4. four\n\n"
        "> quoted\n> words\n\n"
        "# A heading\n"
    )
    assert "Intro with *bold* and _emphasis_." in body
    lines = body.splitlines()
    second = lines.index(next(line for line in lines if line.startswith("- second")))
    assert lines[second + 1].startswith("  word")  # continuation indented under the bullet
    assert "3. three\n4. four" in body
    assert "> quoted words" in body
    assert "A heading\n~~~~~~~~~" in body
    assert notes == ""


def test_links_become_numbered_references() -> None:
    links = TextLinks()
    first = to_text("See [the report](https://a.example/r) and [the summary](https://a.example/s).", links)
    again = to_text("The [report](https://a.example/r) again; <https://a.example/bare>.", links)
    assert first == "See the report [1] and the summary [2]."
    assert again == "The report [1] again; https://a.example/bare."
    assert links.notes() == "[1] https://a.example/r\n[2] https://a.example/s"
    assert links.notes() == ""
    assert to_text("[more](https://a.example/m)", links) == "more [3]"


def test_raw_html_and_bad_schemes_are_never_markup() -> None:
    html = to_html('<script>alert(1)</script> <b onclick="x">b</b> [x](javascript:alert(1)) {{ 7*7 }}')
    doc = lxml.html.fragment_fromstring(str(html), create_parent="div")
    assert not doc.xpath("//script | //b | //a")
    literal = '<script>alert(1)</script> <b onclick="x">b</b> [x](javascript:alert(1)) {{ 7*7 }}'
    assert doc.text_content().strip() == literal
    body, _ = text("<div>raw</div> &amp; &copy;")
    assert body == "<div>raw</div> & ©"


def test_headings_sit_below_the_item_title() -> None:
    assert str(to_html("# Big\n\n## Smaller")) == "<h4>Big</h4>\n<h5>Smaller</h5>\n"


def test_soft_breaks_keep_words_apart() -> None:
    html = str(to_html("**one**\n*two*"))
    assert "</strong> <em>" in html and "\n<em>" not in html


def test_wrap_keeps_long_words_and_no_break_spaces() -> None:
    url = "https://www.example.org/" + "x" * 80
    assert wrap(f"see {url} now", 30) == ["see", url, "now"]
    assert wrap("a\u00a0b c", 3) == ["a\u00a0b", "c"]
    assert wrap("one two three", 9, "- ") == ["- one two", "  three"]


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_any_text_renders_wrapped_without_tags(source: str) -> None:
    body, _ = text(source)
    for line in body.splitlines():
        assert len(line) <= WIDTH or " " not in line.strip()
    html = str(to_html(source))
    assert not re.search(r"<(script|style|iframe|object)\b", html, re.I)


def test_code_is_hard_wrapped_with_a_continuation_marker() -> None:
    long = "result = compute(" + ", ".join(f"argument_{n}" for n in range(8)) + ")"
    source = f"```\n{long}\nshort\n```\n\n- an item:\n\n      \t{long}\n\n> ```\n> {long}\n> ```\n"
    body, _ = text(source)
    assert len(long) > WIDTH and all(len(line) <= WIDTH for line in body.splitlines())
    fence = body.split("\n\n")[0].splitlines()
    assert fence[-1] == "    short" and fence[1].startswith("    " + CODE_CONTINUED)
    assert "".join(line[4:].removeprefix(CODE_CONTINUED) for line in fence[:-1]) == long
    assert f"      {CODE_CONTINUED}" in body.split("\n\n")[2]  # in the list, under the item


NESTING = [("", ""), ("> ", "> "), ("- ", "  "), ("10. ", "    "), ("> - ", ">   ")]
CODE_LINE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="`"),
    min_size=40,
    max_size=240,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(CODE_LINE, min_size=1, max_size=4), st.sampled_from(NESTING))
def test_code_blocks_stay_within_the_width(lines: list[str], nesting: tuple[str, str]) -> None:
    first, rest = nesting
    source = first + "```\n" + "".join(rest + line + "\n" for line in lines) + rest + "```\n"
    body, _ = text(source)
    for line in body.splitlines():
        assert len(line) <= WIDTH, line
