"""XML parsing for hostile input: no entities, no DTDs, no network, no file reads.

Entity expansion, DTD loading and network access are off, and libxml2's amplification and depth
guards stay on (no huge_tree). Option combinations matter: with ``collect_ids=False`` libxml2
reads an external DTD named in a DOCTYPE from local disk despite ``load_dtd=False`` (a test pins
this down), so that option is left alone, and every parser also carries a resolver that answers
any lookup with nothing. Any DOCTYPE is then refused outright: no SBOM format needs one.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from clearinghouse.core.errors import DecodeError


class _Nothing(etree.Resolver):
    """Resolve every external DTD or entity to empty text, so nothing is ever opened."""

    def resolve(self, system_url: str | None, public_id: str | None, context: object) -> Any:
        return self.resolve_empty(context)


def safe_parser() -> etree.XMLParser:
    parser = etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        # collect_ids stays at its default: turning it off makes libxml2 read external DTDs.
    )
    parser.resolvers.add(_Nothing())
    return parser


def parse_xml(data: bytes, document: str) -> Any:
    """Parse untrusted XML into a tree; ``DecodeError`` if malformed or carrying a DOCTYPE."""
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise DecodeError(f"{document} is not well-formed XML: {_short(str(exc))}") from None
    if root is None:
        raise DecodeError(f"{document} is empty")
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None:  # any DOCTYPE, even one without a subset
        raise DecodeError(f"{document}: a DOCTYPE is not accepted (no entity declarations)")
    return tree


def root_tag(data: bytes, chunk: int = 65_536) -> str | None:
    """The root element's ``{namespace}name``, reading no further than its start tag."""
    parser = etree.XMLPullParser(
        events=("start",),
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
    )
    parser.resolvers.add(_Nothing())
    for offset in range(0, len(data), chunk):
        try:
            parser.feed(data[offset : offset + chunk])
            for _, element in parser.read_events():
                return str(element.tag)
        except etree.XMLSyntaxError as exc:
            raise DecodeError(
                f"XML whose root element cannot be read: {_short(str(exc))}"
            ) from None
    return None


def _short(message: str, limit: int = 300) -> str:
    """libxml2 quotes the offending text, which may be as long as the document."""
    return message if len(message) <= limit else message[: limit - 1] + "…"
