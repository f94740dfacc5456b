"""The clearinghouse audits its own dependencies with its own matcher.

``python scripts/audit_dependencies.py [--osv DIR] [--sbom FILE ...] [--sbom-out FILE] [--json]``

1. **SBOM.** The pinned environment, as CycloneDX 1.6 JSON: the ``clearinghouse`` distribution
   and the transitive closure of its requirements (every extra whose requirements are
   installed, so ``[dev]`` counts where it is installed) as they are installed in the running
   interpreter, read from ``importlib.metadata`` and written with the cyclonedx-python-lib that
   ``pyproject.toml`` pins. That is the data cyclonedx-py's ``environment`` command reads too;
   using the library we already pin adds no tool, no second resolver and no conflict. Bootstrap
   tools of the virtualenv that nothing requires (pip, an old setuptools) are not pins of the
   project and are listed separately, audited but not failing the run.
2. **Match.** What ``clearinghouse feeds import``, ``inventory import`` and ``inventory
   matches`` run (the pipeline functions behind those commands, called in this one process to
   pay the start-up once), in a throwaway SQLite instance: the local OSV directory (default:
   the PyPA advisory database of ``$CLEARINGHOUSE_CORPUS``, else ``../shared/data``), then
   each SBOM (the environment's, and any given with ``--sbom``, which is how a test proves a
   known-vulnerable pin is caught) as one inventory of an operator, matched by OSV's rules.
3. **Verdict.** Exit 1 listing every (package, version, advisory) when any audited SBOM has a
   match, 0 when none; 2 on bad usage or a step that failed.

It downloads nothing. It does not judge whether a matched advisory is exploitable here: a
match is a pin to upgrade or to justify with a VEX statement.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL
from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement

from clearinghouse.core.errors import ClearinghouseError

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "clearinghouse"
ENVIRONMENT_PRODUCT = "clearinghouse-pinned-environment"
TOOLING_PRODUCT = "clearinghouse-venv-tooling"
AUDITOR_ORG = "Clearinghouse Dependency Audit"


def canonical(name: str) -> str:
    """PEP 503 normalisation, which is also the purl spec's form of a PyPI name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed() -> dict[str, metadata.Distribution]:
    found: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(canonical(name), dist)
    return found


def _extras_of(dist: metadata.Distribution) -> list[str]:
    return list(dist.metadata.get_all("Provides-Extra") or [])


def _requirements(dist: metadata.Distribution, extras: Iterable[str]) -> list[Requirement]:
    """The distribution's requirements that apply here for the given extras."""
    wanted = {canonical(e) for e in extras}
    out: list[Requirement] = []
    for line in dist.requires or []:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is None:
            out.append(req)
            continue
        env = {key: str(value) for key, value in default_environment().items()}
        # A requirement applies without extras, or under one of the extras asked for.
        contexts = [{**env, "extra": extra} for extra in ("", *sorted(wanted))]
        if any(req.marker.evaluate(context) for context in contexts):
            out.append(req)
    return out


@dataclass(frozen=True, slots=True)
class Closure:
    """The project's installed requirement closure, and what else the environment holds."""

    pinned: dict[str, str]  # canonical name -> installed version
    tooling: dict[str, str]  # installed, required by nothing of the project
    edges: dict[str, set[str]]  # canonical name -> the installed packages it requires


def closure(project: str = PROJECT) -> Closure:
    """Walk ``project``'s requirements (all its extras that are installed) through what is
    installed; a requirement that is not installed is an extra this environment skipped."""
    installed = _installed()
    root = installed.get(canonical(project))
    if root is None:
        raise SystemExit(f"{project} is not installed in {sys.prefix}")
    pinned: dict[str, str] = {}
    edges: dict[str, set[str]] = {}
    queue: list[tuple[str, tuple[str, ...]]] = [(canonical(project), tuple(_extras_of(root)))]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while queue:
        name, extras = queue.pop()
        if (name, extras) in seen or name not in installed:
            continue
        seen.add((name, extras))
        dist = installed[name]
        pinned[name] = dist.version
        for req in _requirements(dist, extras):
            dep = canonical(req.name)
            if dep in installed:
                edges.setdefault(name, set()).add(dep)
                queue.append((dep, tuple(sorted(req.extras))))
    # pip, an old setuptools, anything installed by hand: audited, reported, not failing.
    tooling = {name: dist.version for name, dist in installed.items() if name not in pinned}
    return Closure(
        pinned=dict(sorted(pinned.items())), tooling=dict(sorted(tooling.items())), edges=edges
    )


def sbom(
    product: str,
    packages: dict[str, str],
    *,
    version: str = "",
    edges: dict[str, set[str]] | None = None,
    roots: Iterable[str] = (),
) -> bytes:
    """A CycloneDX 1.6 JSON SBOM of PyPI ``packages`` (canonical name -> version), with the
    dependency graph: the product depends on ``roots`` (default: every package) and each
    package on its ``edges``."""
    bom = Bom()
    root = Component(
        name=product, version=version or None, type=ComponentType.APPLICATION, bom_ref=product
    )
    bom.metadata.component = root
    components: dict[str, Component] = {}
    for name, ver in packages.items():
        purl = PackageURL(type="pypi", name=name, version=ver)
        components[name] = Component(
            name=name, version=ver, type=ComponentType.LIBRARY, purl=purl, bom_ref=purl.to_string()
        )
        bom.components.add(components[name])
    top = [components[n] for n in roots if n in components] or list(components.values())
    bom.register_dependency(root, top)
    for name, component in components.items():
        needed = [components[d] for d in sorted((edges or {}).get(name, ())) if d in components]
        bom.register_dependency(component, needed)
    return JsonV1Dot6(bom).output_as_string(indent=2).encode()


def default_osv() -> Path:
    corpus = os.environ.get("CLEARINGHOUSE_CORPUS")
    base = Path(corpus) if corpus else ROOT.parent / "shared" / "data"
    return base / "osv" / "pypa-advisory-database" / "vulns"


@dataclass(frozen=True, slots=True)
class Audited:
    product: str
    components: int
    gating: bool  # a match fails the run
    matches: list[dict[str, Any]]


def audit(
    sboms: Sequence[tuple[str, bytes, bool]], *, osv: Path, work: Path
) -> tuple[dict[str, Any], list[Audited]]:
    """Import ``osv`` once into a fresh SQLite instance in ``work``, then each (product, SBOM,
    gating) as the auditor's inventory, and match: the functions ``clearinghouse feeds
    import``, ``inventory import`` and ``inventory matches`` call, in one process."""
    from clearinghouse.access.roles import OrgKind
    from clearinghouse.access.visibility import LOCAL_ADMIN
    from clearinghouse.infra.settings import Settings
    from clearinghouse.pipeline import admin_flow, feeds_flow, inventory_flow
    from clearinghouse.pipeline.runtime import Runtime

    rt = Runtime.from_settings(Settings(data_dir=work / "data", database_url=None))
    try:
        rt.ensure_schema()
        admin_flow.create_organization(
            rt.db,
            viewer=LOCAL_ADMIN,
            name=AUDITOR_ORG,
            kind=OrgKind.OPERATOR,
            sector=None,
            clock=rt.clock,
        )
        feed = feeds_flow.import_feed(rt, viewer=LOCAL_ADMIN, path=osv, source="osv:PyPI")
        results: list[Audited] = []
        for product, document, gating in sboms:
            imported = inventory_flow.import_inventory(
                rt,
                viewer=LOCAL_ADMIN,
                organization=AUDITOR_ORG,
                chunks=[document],
                product=product,
            )
            results.append(Audited(product, int(imported["components"]), gating, []))
        found = inventory_flow.matches(rt, organization=AUDITOR_ORG)
    finally:
        rt.close()
    by_product = {r.product: r for r in results}
    for match in found["matches"]:
        by_product[str(match["product"])].matches.append(match)
    return feed, results


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--osv", type=Path, default=None, help="OSV records (a directory)")
    parser.add_argument(
        "--sbom", type=Path, action="append", default=[], help="another SBOM to audit (gating)"
    )
    parser.add_argument("--sbom-out", type=Path, help="also write the environment's SBOM here")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    osv: Path = args.osv or default_osv()
    if not osv.is_dir():
        print(f"--osv: {osv} is not a directory of OSV records", file=sys.stderr)
        return 2
    found = closure()
    version = found.pinned.get(PROJECT, "")
    environment = sbom(
        ENVIRONMENT_PRODUCT, found.pinned, version=version, edges=found.edges, roots=[PROJECT]
    )
    if args.sbom_out:
        args.sbom_out.write_bytes(environment)
    sboms: list[tuple[str, bytes, bool]] = [(ENVIRONMENT_PRODUCT, environment, True)]
    if found.tooling:
        sboms.append((TOOLING_PRODUCT, sbom(TOOLING_PRODUCT, found.tooling), False))
    for extra in args.sbom:
        if not extra.is_file():
            print(f"--sbom: {extra} is not a file", file=sys.stderr)
            return 2
        sboms.append((f"sbom:{extra.name}", extra.read_bytes(), True))
    with tempfile.TemporaryDirectory(prefix="clearinghouse-audit-") as tmp:
        try:
            feed, results = audit(sboms, osv=osv, work=Path(tmp))
        except ClearinghouseError as error:
            print(f"audit: {error}", file=sys.stderr)
            return 2
    failing = [r for r in results if r.gating and r.matches]
    if args.json:
        print(
            json.dumps(
                {
                    "osv": str(osv),
                    "advisories": feed.get("records"),
                    "ok": not failing,
                    "sboms": [
                        {
                            "product": r.product,
                            "components": r.components,
                            "gating": r.gating,
                            "vulnerable": sorted(
                                {(m["purl"], m["vulnerability"]) for m in r.matches}
                            ),
                        }
                        for r in results
                    ],
                },
                indent=2,
            )
        )
    else:
        print(f"advisories: {feed.get('records')} OSV records from {osv}")
        for r in results:
            label = "" if r.gating else " (not pinned by the project; reported, not failing)"
            print(f"{r.product}: {r.components} components, {len(r.matches)} matches{label}")
            for m in sorted(r.matches, key=lambda m: (m["purl"], m["vulnerability"])):
                print(f"  VULNERABLE {m['purl']}  {m['vulnerability']}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
