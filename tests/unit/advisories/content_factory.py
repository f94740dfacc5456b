"""A realistic advisory content for the composer tests, with overridable parts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from clearinghouse.advisories.content import (
    AdvisoryContent,
    AdvisoryVulnerability,
    AffectedProduct,
    Credit,
    ProductStatus,
    Publisher,
    Revision,
)

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
CRITICAL_V3 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
HIGH_V4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
ORG_ID = "8254265b-2729-46b6-b9e3-3dfca2d5bfca"

LIBRLE_FIXED = AffectedProduct(
    vendor="Acme",
    product="librle",
    purl="pkg:github/acme/librle",
    ecosystem=None,  # a C library, not in any OSV ecosystem
    status=ProductStatus.FIXED,
    introduced="1.0.0",
    fixed="1.4.2",
    remediation="Upgrade librle to 1.4.2.",
)
DECODER_NOT_AFFECTED = AffectedProduct(
    vendor="PyCo",
    product="rle-decoder",
    purl="pkg:pypi/rle-decoder",
    ecosystem="PyPI",
    status=ProductStatus.NOT_AFFECTED,
    statement="rle-decoder reimplements the decoder and never calls librle.",
)
DECODER_AFFECTED = AffectedProduct(
    vendor="PyCo",
    product="rle-decoder",
    purl="pkg:pypi/rle-decoder",
    ecosystem="PyPI",
    status=ProductStatus.AFFECTED,
    introduced="0",
    fixed="2.0.1",
)
LIBRLE_INVESTIGATING = AffectedProduct(
    vendor="Acme",
    product="librle",
    purl="pkg:github/acme/librle",
    ecosystem=None,
    status=ProductStatus.UNDER_INVESTIGATION,
)


def vulnerability_one(**changes: Any) -> AdvisoryVulnerability:
    base = AdvisoryVulnerability(
        id="CH-2025-00001",
        title="Heap buffer overflow in librle run decoding",
        description="A crafted run-length stream writes past the end of the output buffer.",
        aliases=("cve-2025-1234", "GHSA-abcd-efgh-ijkl"),
        cwe=787,
        cvss_v3=CRITICAL_V3,
        cvss_v4=HIGH_V4,
        exploited=True,
        discovered=T0 - dt.timedelta(days=40),
        credits=(Credit("Finder Labs", "security@finder.example"), Credit("Second Sight")),
        products=(LIBRLE_FIXED, DECODER_NOT_AFFECTED),
        references=("https://github.com/acme/librle/commit/abc123",),
    )
    return dataclasses.replace(base, **changes)


def vulnerability_two(**changes: Any) -> AdvisoryVulnerability:
    base = AdvisoryVulnerability(
        id="CH-2025-00002",
        title="Unbounded allocation in rle-decoder",
        description="A length field is trusted, so a tiny input allocates gigabytes.",
        aliases=("GHSA-wxyz-wxyz-wxyz",),
        cwe=789,
        cvss_v3="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
        credits=(Credit("Finder Labs"),),
        products=(DECODER_AFFECTED, LIBRLE_INVESTIGATING),
    )
    return dataclasses.replace(base, **changes)


def make_content(**changes: Any) -> AdvisoryContent:
    base = AdvisoryContent(
        tracking_id="CASE-2025-0042",
        title="Memory safety issues in librle and rle-decoder",
        summary="Two vulnerabilities in run-length decoding; one is exploited.",
        publisher=Publisher(
            name="Example Clearinghouse",
            namespace="https://clearinghouse.example",
            contact="psirt@clearinghouse.example",
        ),
        initial_release=T0,
        current_release=T0 + dt.timedelta(days=3),
        revisions=(
            Revision("1", T0, "Initial release."),
            Revision("2", T0 + dt.timedelta(days=3), "Added the rle-decoder fix."),
        ),
        vulnerabilities=(vulnerability_one(), vulnerability_two()),
        references=("https://clearinghouse.example/blog/librle",),
    )
    return dataclasses.replace(base, **changes)
