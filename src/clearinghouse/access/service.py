"""Queries and commands on organizations, tokens and grants."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearinghouse.access.models import ApiToken, Organization, TlpGrant
from clearinghouse.access.roles import OrgKind, Role, Sector
from clearinghouse.access.visibility import Viewer
from clearinghouse.core.clock import Clock
from clearinghouse.core.errors import AuthenticationError, ConflictError, InputError, NotFoundError

TOKEN_PREFIX = "chk_"  # noqa: S105 - a marker that makes leaked tokens greppable


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_org(
    session: Session, *, name: str, kind: OrgKind, sector: Sector | None, clock: Clock
) -> Organization:
    name = name.strip()
    if not name or len(name) > 200:
        raise InputError("name: must be 1 to 200 characters")
    if get_org_by_name(session, name=name) is not None:
        raise ConflictError(f"organization {name!r} already exists")
    org = Organization(
        name=name, kind=kind.value, sector=sector.value if sector else None, created_at=clock.now()
    )
    session.add(org)
    session.flush()
    return org


def get_org_by_name(session: Session, *, name: str) -> Organization | None:
    return session.scalars(select(Organization).where(Organization.name == name)).first()


def get_org_by_name_or_raise(session: Session, *, name: str) -> Organization:
    org = get_org_by_name(session, name=name)
    if org is None:
        raise NotFoundError(f"organization {name!r} does not exist")
    return org


def list_orgs(session: Session) -> list[Organization]:
    return list(session.scalars(select(Organization).order_by(Organization.id)))


def create_token(
    session: Session, *, org: Organization, role: Role, clock: Clock
) -> tuple[ApiToken, str]:
    """Return the row and the secret; the secret is shown once and stored only as a hash."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        organization_id=org.id,
        role=role.value,
        token_hash=hash_token(secret),
        prefix=secret[:12],
        created_at=clock.now(),
    )
    session.add(token)
    session.flush()
    return token, secret


def authenticate(session: Session, *, secret: str) -> Viewer:
    if not secret.startswith(TOKEN_PREFIX):
        raise AuthenticationError("bearer token is malformed")
    row = session.execute(
        select(ApiToken, Organization)
        .join(Organization, Organization.id == ApiToken.organization_id)
        .where(ApiToken.token_hash == hash_token(secret))
    ).first()
    if row is None or row[0].revoked_at is not None:
        raise AuthenticationError("bearer token is unknown or revoked")
    token, org = row
    return Viewer(
        organization_id=org.id,
        organization=org.name,
        kind=OrgKind(org.kind),
        role=Role(token.role),
        token_id=token.id,
    )


def viewer_for_org(org: Organization, *, role: Role = Role.ADMIN) -> Viewer:
    """The CLI acting on behalf of one organization (``--org``)."""
    return Viewer(organization_id=org.id, organization=org.name, kind=OrgKind(org.kind), role=role)


def grant(
    session: Session, *, resource_kind: str, resource_id: int, org: Organization, clock: Clock
) -> bool:
    """Add a grant; False if it already existed."""
    existing = session.scalars(
        select(TlpGrant).where(
            TlpGrant.resource_kind == resource_kind,
            TlpGrant.resource_id == resource_id,
            TlpGrant.organization_id == org.id,
        )
    ).first()
    if existing is not None:
        return False
    session.add(
        TlpGrant(
            resource_kind=resource_kind,
            resource_id=resource_id,
            organization_id=org.id,
            created_at=clock.now(),
        )
    )
    session.flush()
    return True


def granted_org_ids(session: Session, *, resource_kind: str, resource_id: int) -> set[int]:
    return set(
        session.scalars(
            select(TlpGrant.organization_id).where(
                TlpGrant.resource_kind == resource_kind, TlpGrant.resource_id == resource_id
            )
        )
    )
