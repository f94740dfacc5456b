"""ORM models for organizations, tokens, explicit TLP grants, and web sign-in (password users
and browser sessions)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clearinghouse.infra.db import Base
from clearinghouse.infra.types import UtcDateTime


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    sector: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ApiToken(Base):
    """A bearer token, stored only as its SHA-256 (tokens are random, so no KDF is needed)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class TlpGrant(Base):
    """Lets one more organization see a restricted resource.

    For AMBER and AMBER+STRICT it is an explicit grant; for RED it names a recipient.
    """

    __tablename__ = "tlp_grants"
    __table_args__ = (
        UniqueConstraint("resource_kind", "resource_id", "organization_id"),
        Index("ix_tlp_grants_resource", "resource_kind", "resource_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_kind: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[int] = mapped_column()
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class WebUser(Base):
    """A person who signs in to the web interface with a username and a password (stored only
    as an argon2id hash); it acts for one organization with one role, like an API token."""

    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, PHC string format
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class WebSession(Base):
    """One signed-in browser. Its id is the SHA-256 of the random cookie value (a stolen database
    yields no usable cookie); it names the token or user it came from, checked again on every
    request (revoking the token or disabling the user ends it), holds the CSRF secret of its
    pages, and ends when idle past ``expires_at`` or when revoked (signing out)."""

    __tablename__ = "web_sessions"
    __table_args__ = (
        Index("ix_web_sessions_user", "user_id"),
        Index("ix_web_sessions_token", "token_id"),
        Index("ix_web_sessions_expires", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie value
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    role: Mapped[str] = mapped_column(String(16))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("web_users.id"))
    csrf_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
