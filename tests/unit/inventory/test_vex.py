"""Which VEX statement decides a match: naming, versions, and the newest statement."""

from __future__ import annotations

from clearinghouse.inventory.vex import Statement, deciding

PURL = "pkg:npm/ledger-core@3.3.0"


def statement(
    order: int,
    *,
    status: str = "not_affected",
    products: tuple[str, ...] = (PURL,),
    subcomponents: tuple[str, ...] = (),
    versions: tuple[str, ...] = (),
    vulnerability: str = "CVE-2026-99103",
    aliases: tuple[str, ...] = (),
    timestamp: str | None = None,
) -> Statement:
    return Statement(
        order=order,
        issuer="Acme",
        vulnerability=vulnerability,
        aliases=aliases,
        products=products,
        subcomponents=subcomponents,
        versions=versions,
        status=status,
        justification="vulnerable_code_not_in_execute_path" if status == "not_affected" else None,
        timestamp=timestamp,
    )


def decide(
    *statements: Statement, ids: tuple[str, ...] = ("DEMO-2026-0003", "CVE-2026-99103")
) -> str | None:
    found = deciding(list(statements), purl=PURL, identifiers=ids)
    return found.status if found else None


def test_a_statement_applies_by_alias_either_way() -> None:
    assert decide(statement(1)) == "not_affected"
    assert (
        decide(statement(1, vulnerability="GHSA-x", aliases=("CVE-2026-99103",))) == "not_affected"
    )
    assert decide(statement(1), ids=("CVE-2026-11111",)) is None


def test_a_versionless_product_covers_every_version_an_exact_one_only_its_own() -> None:
    assert decide(statement(1, products=("pkg:npm/ledger-core",))) == "not_affected"
    assert decide(statement(1, products=("pkg:npm/ledger-core@3.4.1",))) is None
    assert decide(statement(1, products=("pkg:npm/other",))) is None


def test_a_statement_about_a_part_of_another_product_is_not_applied() -> None:
    # "teller is not affected through its ledger-core": says nothing of ledger-core elsewhere.
    assert decide(statement(1, products=("pkg:oci/teller",), subcomponents=(PURL,))) is None
    assert decide(statement(1, products=(PURL,), subcomponents=("pkg:npm/inner@1",))) is None


def test_version_limits_apply_exactly_and_ranges_are_not_guessed() -> None:
    bare = ("pkg:npm/ledger-core",)
    assert decide(statement(1, products=bare, versions=("3.3.0",))) == "not_affected"
    assert decide(statement(1, products=bare, versions=("3.2.0",))) is None
    assert decide(statement(1, products=bare, versions=("vers:npm/>=3.0.0|<3.4.1",))) is None


def test_the_newest_statement_decides() -> None:
    older = statement(1, status="under_investigation", timestamp="2026-11-01T00:00:00Z")
    newer = statement(2, status="not_affected", timestamp="2026-11-20T00:00:00Z")
    assert decide(newer, older) == "not_affected"
    later_affected = statement(3, status="affected", timestamp="2026-11-25T00:00:00Z")
    assert decide(older, newer, later_affected) == "affected"
    # Without timestamps, the later import wins.
    assert decide(statement(1, status="fixed"), statement(2, status="affected")) == "affected"
