"""Who may see a TLP-labelled record, as a pure rule and as a SQL condition.

TLP 2.0 as the clearinghouse enforces it:

- CLEAR, GREEN: every registered organization.
- AMBER, AMBER+STRICT: the owning organization, coordinators, and organizations granted access.
- RED: the owning organization and named recipients only (coordinators too only when named).

An invisible record is reported as absent (404), never as forbidden, so that its existence does
not leak. The SQL form takes the columns to test, so this module needs no other domain's models.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from clearinghouse.access.models import TlpGrant
from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.core.tlp import Tlp

_OPEN = (Tlp.CLEAR.value, Tlp.GREEN.value)
_AMBER = (Tlp.AMBER.value, Tlp.AMBER_STRICT.value)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Whoever is asking. ``superuser`` is the local operator at the CLI, who owns the database."""

    organization_id: int | None
    organization: str
    kind: OrgKind
    role: Role
    token_id: int | None = None
    superuser: bool = False

    @property
    def audit_organization(self) -> str | None:
        return None if self.superuser else self.organization

    @property
    def label(self) -> str:
        if self.superuser:
            return "local-admin"
        if self.token_id is None:  # the local operator acting for the organization (``--as``)
            return f"{self.organization}/{self.role.value}"
        return f"{self.organization}/{self.role.value}#{self.token_id}"


LOCAL_ADMIN = Viewer(
    organization_id=None,
    organization="local",
    kind=OrgKind.COORDINATOR,
    role=Role.ADMIN,
    superuser=True,
)


def can_see(viewer: Viewer, *, tlp: Tlp, owner_id: int, granted: bool) -> bool:
    if viewer.superuser or tlp in (Tlp.CLEAR, Tlp.GREEN) or owner_id == viewer.organization_id:
        return True
    if tlp is Tlp.RED:
        return granted
    return viewer.kind is OrgKind.COORDINATOR or granted


def visible_clause(
    viewer: Viewer,
    *,
    tlp: InstrumentedAttribute[str],
    owner_id: InstrumentedAttribute[int],
    resource_kind: str,
    resource_id: InstrumentedAttribute[int],
) -> ColumnElement[bool]:
    """The SQL form of :func:`can_see` for rows whose grants are keyed by ``resource_id``."""
    if viewer.superuser:
        return true()
    # Uncorrelated: the viewer's grants are read once per statement, not once per row tested
    # (a correlated EXISTS here cost a grant look-up for every row the viewer could not see).
    granted = resource_id.in_(
        select(TlpGrant.resource_id).where(
            TlpGrant.resource_kind == resource_kind,
            TlpGrant.organization_id == viewer.organization_id,
        )
    )
    amber = and_(tlp.in_(_AMBER), true() if viewer.kind is OrgKind.COORDINATOR else false())
    return or_(
        tlp.in_(_OPEN),
        owner_id == viewer.organization_id,
        amber,
        granted,
    )
