"""Render the human-readable advisory page of one :class:`AdvisoryContent`, as Markdown and HTML.

Both renderings show the same facts from one view model: title, TLP, tracking id and version,
release dates in UTC, the summary, and per vulnerability its ids and aliases, CVSS scores with
severity, the CWE with its catalogue name, whether exploitation is known, a table of products
(status, affected versions, fixed version, remediation or statement), finders and references,
then the revision history.

Everything taken from the content is escaped: HTML through Jinja2 with autoescaping on (the
template is package data, ``templates/advisory.html.j2``), Markdown by backslash-escaping every
character Markdown or inline HTML would interpret. Only ``http``/``https`` URLs become links.

It does not publish, sign or write files, and reads no clock.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

import jinja2

from clearinghouse.advisories.content import (
    AdvisoryContent,
    AdvisoryVulnerability,
    AffectedProduct,
    ProductStatus,
)
from clearinghouse.advisories.csaf_document import (
    advisory_page_url,
    csaf_url,
    cvss_v3,
    cvss_v4,
    cwe_name,
)
from clearinghouse.core.errors import InputError
from clearinghouse.core.tlp import Tlp
from clearinghouse.formats.osv import normalize_alias

TEMPLATE = "advisory.html.j2"
_STATUS_WORDS = {
    ProductStatus.AFFECTED: "Affected",
    ProductStatus.FIXED: "Fixed",
    ProductStatus.NOT_AFFECTED: "Not affected",
    ProductStatus.UNDER_INVESTIGATION: "Under investigation",
}
# Backslash-escapable in CommonMark (ASCII punctuation) and meaningful in Markdown or inline HTML.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-!|&~=])")
_LINKABLE = re.compile(r"^https?://[^\s<>\"'`]+$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Score:
    version: str
    vector: str
    base_score: float
    severity: str  # "Critical", "High", …


@dataclass(frozen=True, slots=True)
class ProductRow:
    vendor: str
    product: str
    status: str
    versions: str
    fixed: str
    action: str  # remediation, else the vendor's statement


@dataclass(frozen=True, slots=True)
class VulnerabilityView:
    id: str
    aliases: tuple[str, ...]
    title: str
    description: str
    scores: tuple[Score, ...]
    cwe: str | None  # "CWE-787: Out-of-bounds Write"
    exploited: bool
    discovered: str | None
    products: tuple[ProductRow, ...]
    credits: tuple[str, ...]
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RevisionRow:
    number: str
    date: str
    summary: str


@dataclass(frozen=True, slots=True)
class PageView:
    """What the page shows, already formatted; the templates only lay it out."""

    title: str
    tlp: str
    tracking_id: str
    version: str
    publisher: str
    initial_release: str
    current_release: str
    summary: str
    severity: str | None
    vulnerabilities: tuple[VulnerabilityView, ...]
    revisions: tuple[RevisionRow, ...]
    references: tuple[str, ...]
    page_url: str
    csaf_url: str


def format_utc(moment: dt.datetime) -> str:
    """``2025-03-01 12:00 UTC``: minutes are precise enough for a reader; the zone is explicit."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        # astimezone() would silently read a naive time as the server's local time.
        raise InputError(f"a timezone-aware time is needed, got the naive {moment.isoformat()}")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _versions(product: AffectedProduct) -> str:
    if product.status in (ProductStatus.NOT_AFFECTED, ProductStatus.UNDER_INVESTIGATION) and not (
        product.introduced or product.fixed or product.last_affected
    ):
        return "all versions"
    parts: list[str] = []
    if product.introduced and product.introduced != "0":
        parts.append(f">= {product.introduced}")
    if product.fixed:
        parts.append(f"< {product.fixed}")
    elif product.last_affected:
        parts.append(f"<= {product.last_affected}")
    if parts:
        return ", ".join(parts)
    return "no version named" if product.status is ProductStatus.FIXED else "all versions"


def _scores(vulnerability: AdvisoryVulnerability) -> tuple[Score, ...]:
    scores: list[Score] = []
    for data in (
        cvss_v4(vulnerability.cvss_v4) if vulnerability.cvss_v4 else None,
        cvss_v3(vulnerability.cvss_v3) if vulnerability.cvss_v3 else None,
    ):
        if data is not None:
            scores.append(
                Score(
                    version=str(data["version"]),
                    vector=str(data["vectorString"]),
                    base_score=float(data["baseScore"]),
                    severity=str(data["baseSeverity"]).capitalize(),
                )
            )
    return tuple(scores)


def _vulnerability(vulnerability: AdvisoryVulnerability) -> VulnerabilityView:
    cwe: str | None = None
    if vulnerability.cwe is not None:
        name = cwe_name(vulnerability.cwe)
        cwe = f"CWE-{vulnerability.cwe}: {name}" if name else f"CWE-{vulnerability.cwe}"
    return VulnerabilityView(
        id=vulnerability.id,
        aliases=tuple(dict.fromkeys(normalize_alias(a) for a in vulnerability.aliases)),
        title=" ".join(vulnerability.title.split()) or vulnerability.id,
        description=vulnerability.description,
        scores=_scores(vulnerability),
        cwe=cwe,
        exploited=vulnerability.exploited,
        discovered=format_utc(vulnerability.discovered) if vulnerability.discovered else None,
        products=tuple(
            ProductRow(
                vendor=product.vendor,
                product=product.product,
                status=_STATUS_WORDS[product.status],
                versions=_versions(product),
                fixed=product.fixed or "",
                action=product.remediation or product.statement or "",
            )
            for product in vulnerability.products
        ),
        credits=tuple(credit.name for credit in vulnerability.credits if credit.name.strip()),
        references=tuple(dict.fromkeys(vulnerability.references)),
    )


def page_view(content: AdvisoryContent) -> PageView:
    """The formatted facts of the page, shared by the Markdown and HTML renderings."""
    vulnerabilities = tuple(_vulnerability(v) for v in content.vulnerabilities)
    ranked = [score for view in vulnerabilities for score in view.scores]
    order = ("None", "Low", "Medium", "High", "Critical")
    severity = max((s.severity for s in ranked), key=order.index, default=None)
    return PageView(
        title=content.title.strip() or content.tracking_id,
        tlp=f"TLP:{Tlp.parse(content.tlp).value}",
        tracking_id=content.tracking_id,
        version=content.version,
        publisher=content.publisher.name,
        initial_release=format_utc(content.initial_release),
        current_release=format_utc(content.current_release),
        summary=content.summary,
        severity=severity,
        vulnerabilities=vulnerabilities,
        revisions=tuple(
            RevisionRow(r.number, format_utc(r.date), r.summary) for r in content.revisions
        ),
        references=tuple(dict.fromkeys(content.references)),
        page_url=advisory_page_url(content),
        csaf_url=csaf_url(content),
    )


# --- Markdown ------------------------------------------------------------------------------------


def markdown_escape(text: str) -> str:
    """Backslash-escape every character Markdown (or inline HTML) would act on."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _cell(text: str) -> str:
    # A line break would end the table row, so a cell is one line.
    return markdown_escape(" ".join(text.split())) or " "


def _inline(text: str) -> str:
    return markdown_escape(" ".join(text.split()))


def _block(text: str) -> str:
    """Paragraph text: lines kept (each escaped), blank lines still separate paragraphs."""
    return "\n".join(markdown_escape(line.strip()) for line in text.strip().splitlines())


def _md_link(url: str) -> str:
    if _LINKABLE.match(url):
        return f"[{markdown_escape(url)}](<{url}>)"
    return markdown_escape(url)


def render_markdown(content: AdvisoryContent) -> str:
    view = page_view(content)
    lines: list[str] = [f"# {_inline(view.title)}", ""]
    lines += [
        f"**{_inline(view.tlp)}**",
        "",
        f"- Tracking id: {_inline(view.tracking_id)}",
        f"- Version: {_inline(view.version)}",
        f"- Publisher: {_inline(view.publisher)}",
        f"- Initial release: {view.initial_release}",
        f"- Current release: {view.current_release}",
    ]
    if view.severity:
        lines.append(f"- Highest severity: {view.severity}")
    lines += [f"- CSAF document: {_md_link(view.csaf_url)}", ""]
    if view.summary.strip():
        lines += ["## Summary", "", _block(view.summary), ""]
    for vulnerability in view.vulnerabilities:
        lines += _markdown_vulnerability(vulnerability)
    if view.references:
        lines += ["## References", ""]
        lines += [f"- {_md_link(url)}" for url in view.references]
        lines.append("")
    lines += ["## Revision history", "", "| Version | Date | Summary |", "| --- | --- | --- |"]
    lines += [f"| {_cell(r.number)} | {r.date} | {_cell(r.summary)} |" for r in view.revisions]
    return "\n".join(lines) + "\n"


def _markdown_vulnerability(view: VulnerabilityView) -> list[str]:
    lines = [f"## {_inline(view.id)}: {_inline(view.title)}", ""]
    if view.aliases:
        lines.append(f"- Aliases: {', '.join(_inline(a) for a in view.aliases)}")
    lines += [
        f"- Severity: CVSS {s.version} {s.base_score:.1f} {s.severity} ({_inline(s.vector)})"
        for s in view.scores
    ] or ["- Severity: not scored"]
    if view.cwe:
        lines.append(f"- Weakness: {_inline(view.cwe)}")
    lines.append(f"- Exploited: {'yes' if view.exploited else 'not known'}")
    if view.discovered:
        lines.append(f"- Discovered: {view.discovered}")
    if view.credits:
        lines.append(f"- Credits: {', '.join(_inline(c) for c in view.credits)}")
    lines.append("")
    if view.description.strip():
        lines += [_block(view.description), ""]
    if view.products:
        lines += [
            "| Vendor | Product | Status | Affected versions | Fixed version | Remediation |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {_cell(p.vendor)} | {_cell(p.product)} | {p.status} | {_cell(p.versions)} "
            f"| {_cell(p.fixed)} | {_cell(p.action)} |"
            for p in view.products
        ]
        lines.append("")
    if view.references:
        lines += [f"- {_md_link(url)}" for url in view.references]
        lines.append("")
    return lines


# --- HTML ----------------------------------------------------------------------------------------


def _linkable(url: str) -> bool:
    return bool(_LINKABLE.match(url))


@functools.cache
def _environment() -> jinja2.Environment:
    # Autoescape is forced on whatever the template's name; every value is user-supplied text.
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("clearinghouse.advisories", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.tests["linkable"] = _linkable
    return environment


def render_html(content: AdvisoryContent) -> str:
    return _environment().get_template(TEMPLATE).render(page=page_view(content))
