"""OpenVEX 0.2.0 JSON -> :class:`VexDocument`.

No maintained Python package ships the OpenVEX JSON schema (there is no ``openvex`` on PyPI), so
this reader checks every field it reads itself, each refusal naming its JSON pointer, and applies
the two rules of the specification that make a statement usable: ``not_affected`` needs a
``justification`` or an ``impact_statement``, ``affected`` needs an ``action_statement``. Unlike
the published schema it accepts both a justification *and* an impact statement together, which
the specification's prose recommends.

Two shapes of the earlier 0.0.1 format are accepted because producers still emit them inside
0.2.0 documents (DefectDojo's OpenVEX test data does): a ``vulnerability`` that is a bare id
string, and ``products``/``subcomponents`` that are bare identifier strings.

Statements without ``products`` (which OpenVEX lets an encapsulating attestation supply) are read
with no products; nothing here guesses a subject.
"""

from __future__ import annotations

from typing import Any

from clearinghouse.formats.decode import decode_json
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.vex.common import (
    DEFAULT_VEX_LIMITS,
    Fields,
    VexLimits,
    check_size,
    grouped,
    unique,
    vex_limits,
)
from clearinghouse.formats.vex.records import (
    JUSTIFICATIONS,
    STATUSES,
    VexDocument,
    VexStatement,
    VexStatus,
)

DOCUMENT = "OpenVEX document"
CONTEXT_PREFIX = "https://openvex.dev/ns"
_CONTEXTS = frozenset({CONTEXT_PREFIX, f"{CONTEXT_PREFIX}/v0.0.1", f"{CONTEXT_PREFIX}/v0.2.0"})
_STATUS: dict[str, VexStatus] = {status: status for status in STATUSES}
# go-vex spells the CPE keys without "@", the published JSON schema with it; both occur.
_CPE_KEYS = ("cpe23", "@cpe23", "cpe22", "@cpe22")


def read_openvex(data: bytes, *, limits: ReadLimits = DEFAULT_VEX_LIMITS) -> VexDocument:
    """Read an OpenVEX JSON document completely, or refuse it naming the first problem."""
    vex = vex_limits(limits)
    check_size(data, vex, DOCUMENT)
    return openvex_document(decode_json(data, what=DOCUMENT), vex)


def openvex_document(doc: Any, limits: VexLimits) -> VexDocument:
    """The decoded form; ``read_vex`` decodes once for detection and reading."""
    fields = Fields(DOCUMENT, limits)
    root = fields.obj(doc, "")
    context = root.get("@context")
    if not isinstance(context, str) or context.strip().rstrip("/") not in _CONTEXTS:
        raise fields.fail(
            "/@context",
            f"the OpenVEX context {CONTEXT_PREFIX}/v0.2.0 (got {str(context)[:80]!r})",
        )
    author = fields.required_text(root, "author", "")
    timestamp = fields.timestamp(root, "timestamp", "")
    if timestamp is None:
        raise fields.fail("/timestamp", "the document's issue date-time (required)")
    raw_statements = fields.array(root.get("statements"), "/statements")
    if not raw_statements:
        raise fields.fail("/statements", "at least one statement")
    statements: list[VexStatement] = []
    for index, raw in enumerate(raw_statements):
        statements.extend(_statements(fields, raw, f"/statements/{index}", timestamp))
    return VexDocument(
        format="openvex", author=author, timestamp=timestamp, statements=tuple(statements)
    )


def _statements(fields: Fields, raw: Any, pointer: str, inherited: str) -> list[VexStatement]:
    """One OpenVEX statement; several records when its products name different subcomponents."""
    statement = fields.obj(raw, pointer)
    vulnerability, aliases = _vulnerability(fields, statement.get("vulnerability"), pointer)

    raw_status = statement.get("status")
    status = _STATUS.get(raw_status) if isinstance(raw_status, str) else None
    if status is None:
        raise fields.fail(f"{pointer}/status", f"one of {', '.join(STATUSES)}")
    justification = fields.text(statement, "justification", pointer)
    if justification is not None and justification not in JUSTIFICATIONS:
        raise fields.fail(f"{pointer}/justification", f"one of {', '.join(JUSTIFICATIONS)}")
    impact = fields.text(statement, "impact_statement", pointer)
    action = fields.text(statement, "action_statement", pointer)
    if status == "not_affected" and justification is None and impact is None:
        raise fields.fail(
            f"{pointer}/justification",
            "a justification or an impact_statement (OpenVEX requires one for not_affected)",
        )
    if status == "affected" and action is None:
        raise fields.fail(
            f"{pointer}/action_statement",
            "an action_statement (OpenVEX requires one for affected)",
        )
    timestamp = fields.timestamp(statement, "timestamp", pointer) or inherited
    notes = fields.text(statement, "status_notes", pointer)

    # 0.0.1 put subcomponents beside the products; they narrow every product of the statement.
    shared = _components(fields, statement.get("subcomponents"), f"{pointer}/subcomponents")
    pairs: list[tuple[tuple[str, ...], str]] = []
    for index, item in enumerate(fields.array(statement.get("products"), f"{pointer}/products")):
        where = f"{pointer}/products/{index}"
        product = _identifier(fields, item, where)
        own = (
            _components(fields, item.get("subcomponents"), f"{where}/subcomponents")
            if isinstance(item, dict)
            else ()
        )
        pairs.append((unique((*own, *shared)), product))
    groups = grouped(pairs) if pairs else {shared: ()}

    records = []
    for subcomponents, products in groups.items():
        fields.count(len(products), pointer)
        records.append(
            VexStatement(
                vulnerability=vulnerability,
                aliases=aliases,
                products=products,
                status=status,
                justification=justification,
                impact_statement=impact,
                action_statement=action,
                timestamp=timestamp,
                detail=notes,
                subcomponents=subcomponents,
            )
        )
    return records


def _vulnerability(fields: Fields, raw: Any, pointer: str) -> tuple[str, tuple[str, ...]]:
    where = f"{pointer}/vulnerability"
    if isinstance(raw, str):  # 0.0.1: the id itself
        name = raw.strip()
        if not name:
            raise fields.fail(where, "a vulnerability with a name")
        return fields.vulnerability_id(name, where), ()
    if raw is None:
        raise fields.fail(where, "the vulnerability the statement is about (required)")
    vulnerability = fields.obj(raw, where)
    name = fields.vulnerability_id(
        fields.required_text(vulnerability, "name", where), f"{where}/name"
    )
    aliases: set[str] = set()
    for index, alias in enumerate(fields.array(vulnerability.get("aliases"), f"{where}/aliases")):
        if not isinstance(alias, str):
            raise fields.fail(f"{where}/aliases/{index}", "a string")
        if alias.strip():
            aliases.add(fields.vulnerability_id(alias, f"{where}/aliases/{index}"))
    aliases.discard(name)
    return name, tuple(sorted(aliases))


def _components(fields: Fields, raw: Any, pointer: str) -> tuple[str, ...]:
    return unique(
        _identifier(fields, item, f"{pointer}/{index}")
        for index, item in enumerate(fields.array(raw, pointer))
    )


def _identifier(fields: Fields, raw: Any, pointer: str) -> str:
    """A product or subcomponent: its purl (``identifiers.purl``, or an ``@id`` that is one),
    else its CPE, else its ``@id`` as written."""
    if isinstance(raw, str):  # 0.0.1: the identifier itself
        return fields.product(raw, pointer)
    component = fields.obj(raw, pointer)
    identifiers = (
        fields.obj(component["identifiers"], f"{pointer}/identifiers")
        if component.get("identifiers") is not None
        else {}
    )
    purl = fields.text(identifiers, "purl", f"{pointer}/identifiers")
    if purl is not None:
        return fields.purl(purl, f"{pointer}/identifiers/purl")
    at_id = fields.text(component, "@id", pointer)
    if at_id is not None and at_id[:4].lower() == "pkg:":
        return fields.purl(at_id, f"{pointer}/@id")
    for key in _CPE_KEYS:
        cpe = fields.text(identifiers, key, f"{pointer}/identifiers")
        if cpe is not None:
            return cpe
    if at_id is not None:
        return at_id
    raise fields.fail(pointer, "an @id or identifiers (purl, cpe23 or cpe22) naming the component")
