"""The human-readable advisory page, in Markdown and HTML."""

from __future__ import annotations

import dataclasses
import html.parser

from clearinghouse.advisories.content import AdvisoryContent
from clearinghouse.advisories.page import markdown_escape, render_html, render_markdown

from .content_factory import make_content, vulnerability_one, vulnerability_two

HOSTILE = '<script>alert("x")</script> | *bold* _em_ [link](javascript:alert(1)) & done'


class _Collector(html.parser.HTMLParser):
    """Tags, link targets and text of an HTML page, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [value or "" for name, value in attrs if name == "href"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    return collector


def _hostile_content() -> AdvisoryContent:
    product = dataclasses.replace(
        vulnerability_one().products[0], vendor=HOSTILE, remediation=HOSTILE
    )
    return make_content(
        title=HOSTILE,
        summary=HOSTILE,
        vulnerabilities=(
            vulnerability_one(
                title=HOSTILE,
                description=HOSTILE,
                products=(product,),
                references=("javascript:alert(1)", "https://ok.example/a"),
            ),
        ),
    )


def test_html_shows_every_fact() -> None:
    page = render_html(make_content())
    text = " ".join(" ".join(_parse(page).text).split())
    for fact in (
        "Memory safety issues in librle and rle-decoder",
        "TLP:CLEAR",
        "CASE-2025-0042",
        "2025-03-01 12:00 UTC",
        "2025-03-04 12:00 UTC",
        "Two vulnerabilities in run-length decoding",
        "CH-2025-00001",
        "CVE-2025-1234",
        "CVSS 3.1 9.8 Critical",
        "CWE-787: Out-of-bounds Write",
        "CWE-789: Memory Allocation with Excessive Size Value",
        "Finder Labs, Second Sight",
        "Not affected",
        "Under investigation",
        ">= 1.0.0, < 1.4.2",
        "Upgrade librle to 1.4.2.",
        "Added the rle-decoder fix.",
    ):
        assert fact in text, fact
    assert "yes" in text  # the first vulnerability is exploited
    assert "not known" in text  # the second is not


def test_html_escapes_user_text() -> None:
    page = render_html(_hostile_content())
    parsed = _parse(page)
    assert "script" not in parsed.tags
    assert "<script>" not in page
    assert any('<script>alert("x")</script>' in chunk for chunk in parsed.text)
    assert "javascript:alert(1)" not in parsed.hrefs
    assert "https://ok.example/a" in parsed.hrefs


def test_markdown_shows_facts_and_escapes_user_text() -> None:
    page = render_markdown(_hostile_content())
    assert "<script>" not in page
    assert "\\<script\\>" in page
    assert "](javascript:" not in page
    assert "(<javascript:" not in page
    table_rows = [line for line in page.splitlines() if line.startswith("| ")]
    # A "|" in user text must not add table cells: every row keeps its header's cell count.
    header_cells = table_rows[0].count(" | ")
    product_rows = table_rows[: table_rows.index("| Version | Date | Summary |")]
    assert all(row.replace("\\|", "").count(" | ") == header_cells for row in product_rows)


def test_markdown_page_content() -> None:
    page = render_markdown(make_content())
    assert page.startswith("# Memory safety issues in librle and rle\\-decoder\n")
    assert "**TLP:CLEAR**" in page
    assert "Initial release: 2025-03-01 12:00 UTC" in page
    assert "CVSS 3.1 9.8 Critical" in page
    assert "CWE\\-787: Out\\-of\\-bounds Write" in page
    assert "| 2 | 2025-03-04 12:00 UTC | Added the rle\\-decoder fix. |" in page


def test_markdown_escape_covers_markdown_and_html_syntax() -> None:
    assert markdown_escape("a|b*c_d<e>[f](g)#h`i`&j\\") == (
        "a\\|b\\*c\\_d\\<e\\>\\[f\\]\\(g\\)\\#h\\`i\\`\\&j\\\\"
    )


def test_pages_are_deterministic() -> None:
    content = make_content(vulnerabilities=(vulnerability_two(),))
    assert render_html(content) == render_html(make_content(vulnerabilities=(vulnerability_two(),)))
    assert render_markdown(content) == render_markdown(
        make_content(vulnerabilities=(vulnerability_two(),))
    )
