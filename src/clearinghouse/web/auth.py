"""Who is signed in to the web interface: password users, sign-in, sessions and sign-out.

- **Passwords** are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
  profile: 3 passes over 64 MiB, 4 lanes) and rehashed on sign-in when those parameters change.
  An unknown or disabled username still costs one verification, so timing does not tell which
  usernames exist; every refusal reads the same ("not accepted"), whatever was wrong.
- **Sessions** are random 256-bit cookie values stored only as their SHA-256. Each carries the
  identity it was made from (an API token or a web user), and both are checked again on every
  request: revoking the token or disabling the user ends the session at once. A session ends
  when idle for ``idle_timeout_s`` (8 hours), at the latest ``max_age_s`` after sign-in, or when
  its owner signs out (revoked, not deleted, so the audit trail keeps its id).
- **Throttling**: too many refused sign-ins from one client address in a window are refused
  outright (429) for the rest of it, in this process.

Sign-ins, refusals and sign-outs are audited. It does not render pages or check CSRF tokens
(``views`` and ``security`` do).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from clearinghouse.access import service as access_service
from clearinghouse.access.models import ApiToken, Organization, WebSession, WebUser
from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.access.visibility import Viewer
from clearinghouse.audit import service as audit_service
from clearinghouse.core.clock import Clock
from clearinghouse.core.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
    RateLimitedError,
)
from clearinghouse.infra.db import Database

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024  # hashing cost grows with the input; nobody types more
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
REFUSED = "sign-in not accepted: check the token, or the username and password"


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle_timeout_s: float = 8 * 3600.0
    max_age_s: float = 24 * 3600.0
    # ``last_seen_at``/``expires_at`` are written at most this often, not on every request.
    touch_every_s: float = 60.0


@dataclass(frozen=True, slots=True)
class UserViewer(Viewer):
    """A viewer who signed in with a password: the audit log names the person."""

    username: str = ""

    @property
    def label(self) -> str:
        return f"{self.organization}/{self.role.value}@{self.username}"


@dataclass(frozen=True, slots=True)
class SignedIn:
    """One request's signed-in browser: who, and the CSRF token its pages carry."""

    viewer: Viewer
    csrf_token: str
    session_id: str
    method: str  # token | password


@dataclass(frozen=True, slots=True)
class _System:
    """The sign-in page itself as an audit actor (refusals have no one to name)."""

    label: str = "web-signin"
    audit_organization: str | None = None


# --- passwords -------------------------------------------------------------------------------

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def _decoy_hash() -> str:
    """A hash to verify against when the username is unknown (made once, on first need)."""
    return _hasher.hash(secrets.token_urlsafe(24))


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InputError(f"password: at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InputError(f"password: at most {MAX_PASSWORD_CHARS} characters")


def normalize_username(username: str) -> str:
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise InputError(
            "username: 1 to 64 characters, lowercase letters, digits and . _ @ - "
            "(starting with a letter or digit)"
        )
    return name


# --- users -----------------------------------------------------------------------------------


def user_json(user: WebUser, organization: str) -> dict[str, object]:
    return {
        "id": user.id,
        "username": user.username,
        "organization": organization,
        "role": user.role,
        "created_at": user.created_at.isoformat(),
        "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
    }


def create_user(
    db: Database,
    *,
    actor: Viewer,
    username: str,
    organization: str,
    role: Role,
    password: str,
    clock: Clock,
) -> dict[str, object]:
    name = normalize_username(username)
    check_password_policy(password)
    with db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        if session.scalars(select(WebUser.id).where(WebUser.username == name)).first():
            raise ConflictError(f"user {name!r} already exists")
        user = WebUser(
            username=name,
            organization_id=org.id,
            role=role.value,
            password_hash=hash_password(password),
            created_at=clock.now(),
        )
        session.add(user)
        session.flush()
        audit_service.append(
            session,
            clock=clock,
            viewer=actor,
            action="web_user.create",
            object_type="web_user",
            object_id=user.id,
            detail={"username": name, "org": org.name, "role": role.value},
        )
        return user_json(user, org.name)


def disable_user(db: Database, *, actor: Viewer, username: str, clock: Clock) -> dict[str, object]:
    """Disable the user and end every session it has (they are checked per request anyway)."""
    name = username.strip().lower()
    with db.session() as session:
        row = session.execute(
            select(WebUser, Organization.name)
            .join(Organization, Organization.id == WebUser.organization_id)
            .where(WebUser.username == name)
        ).first()
        if row is None:
            raise NotFoundError(f"user {name!r} does not exist")
        user, org = row
        now = clock.now()
        if user.disabled_at is None:
            user.disabled_at = now
            session.execute(
                update(WebSession)
                .where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            audit_service.append(
                session,
                clock=clock,
                viewer=actor,
                action="web_user.disable",
                object_type="web_user",
                object_id=user.id,
                detail={"username": name},
            )
        return user_json(user, org)


def list_users(db: Database) -> list[dict[str, object]]:
    with db.session() as session:
        rows = session.execute(
            select(WebUser, Organization.name)
            .join(Organization, Organization.id == WebUser.organization_id)
            .order_by(WebUser.username)
        ).all()
        return [user_json(user, org) for user, org in rows]


# --- throttling ------------------------------------------------------------------------------


class SignInThrottle:
    """At most ``max_failures`` refused sign-ins per client address per ``window_s``."""

    def __init__(self, *, max_failures: int = 10, window_s: float = 600.0) -> None:
        self.max_failures = max_failures
        self.window = dt.timedelta(seconds=window_s)
        self._failures: dict[str, deque[dt.datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: dt.datetime) -> deque[dt.datetime]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def check(self, client: str, now: dt.datetime) -> None:
        """Refuse (429) while the address has ``max_failures`` refusals in the window; the
        error says when the oldest of them leaves it."""
        with self._lock:
            recent = self._recent(client, now)
            if len(recent) >= self.max_failures:
                reopens = recent[-self.max_failures] + self.window
                raise RateLimitedError(
                    "too many refused sign-ins from this address; try again in a few minutes",
                    retry_after_s=(reopens - now).total_seconds(),
                )

    def failed(self, client: str, now: dt.datetime) -> None:
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._failures) > 10_000:  # forget quiet addresses rather than grow forever
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]


# --- sessions --------------------------------------------------------------------------------


def session_id_of(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def _start(
    session: Session,
    *,
    viewer: Viewer,
    token_id: int | None,
    user_id: int | None,
    method: str,
    clock: Clock,
    policy: SessionPolicy,
) -> tuple[str, SignedIn]:
    assert viewer.organization_id is not None
    now = clock.now()
    # Expired sessions are of no use to anyone: sign-in is a good moment to drop them.
    session.execute(delete(WebSession).where(WebSession.expires_at < now - dt.timedelta(days=1)))
    cookie = secrets.token_urlsafe(32)
    row = WebSession(
        id=session_id_of(cookie),
        organization_id=viewer.organization_id,
        role=viewer.role.value,
        token_id=token_id,
        user_id=user_id,
        csrf_secret=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + dt.timedelta(seconds=policy.idle_timeout_s),
    )
    session.add(row)
    session.flush()
    audit_service.append(
        session,
        clock=clock,
        viewer=viewer,
        action="web.signin",
        object_type="web_session",
        object_id=row.id[:16],
        detail={"method": method},
    )
    return cookie, SignedIn(
        viewer=viewer, csrf_token=row.csrf_secret, session_id=row.id, method=method
    )


def _refused(db: Database, *, clock: Clock, method: str, user: str | None) -> AuthenticationError:
    with db.session() as session:
        audit_service.append(
            session,
            clock=clock,
            viewer=_System(),
            action="web.signin_refused",
            object_type="web_session",
            object_id="-",
            detail={"method": method, "user": user},
        )
    return AuthenticationError(REFUSED)


def sign_in_with_token(
    db: Database, *, token: str, clock: Clock, policy: SessionPolicy
) -> tuple[str, SignedIn]:
    """A session for the organization and role of a live API token; refused otherwise."""
    with db.session() as session:
        try:
            viewer = access_service.authenticate(session, secret=token.strip())
        except AuthenticationError:
            viewer = None
        if viewer is not None:
            return _start(
                session,
                viewer=viewer,
                token_id=viewer.token_id,
                user_id=None,
                method="token",
                clock=clock,
                policy=policy,
            )
    raise _refused(db, clock=clock, method="token", user=None)


def sign_in_with_password(
    db: Database, *, username: str, password: str, clock: Clock, policy: SessionPolicy
) -> tuple[str, SignedIn]:
    name = username.strip().lower()
    with db.session() as session:
        row = session.execute(
            select(WebUser, Organization)
            .join(Organization, Organization.id == WebUser.organization_id)
            .where(WebUser.username == name)
        ).first()
        ok = False
        if row is None or len(password) > MAX_PASSWORD_CHARS:
            _verify(_decoy_hash(), password[:MAX_PASSWORD_CHARS])
        else:
            user, org = row
            ok = _verify(user.password_hash, password) and user.disabled_at is None
        if ok and row is not None:
            user, org = row
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            viewer = UserViewer(
                organization_id=org.id,
                organization=org.name,
                kind=OrgKind(org.kind),
                role=Role(user.role),
                username=user.username,
            )
            return _start(
                session,
                viewer=viewer,
                token_id=None,
                user_id=user.id,
                method="password",
                clock=clock,
                policy=policy,
            )
        known = row[0].username if row is not None else None
    raise _refused(db, clock=clock, method="password", user=known)


def load(db: Database, *, cookie: str, clock: Clock, policy: SessionPolicy) -> SignedIn | None:
    """The live session of this cookie value, or ``None`` (unknown, revoked, idle too long,
    too old, or its token revoked or its user disabled). One query; a write at most once per
    ``touch_every_s``."""
    if not cookie or len(cookie) > 200:
        return None
    sid = session_id_of(cookie)
    now = clock.now()
    with db.session() as session:
        row = session.execute(
            select(WebSession, Organization, ApiToken.revoked_at, WebUser)
            .join(Organization, Organization.id == WebSession.organization_id)
            .outerjoin(ApiToken, ApiToken.id == WebSession.token_id)
            .outerjoin(WebUser, WebUser.id == WebSession.user_id)
            .where(WebSession.id == sid)
        ).first()
        if row is None:
            return None
        ws, org, token_revoked_at = row[0], row[1], row[2]
        user = cast("WebUser | None", row[3])  # an outer join: absent for token sessions
        deadline = min(ws.expires_at, ws.created_at + dt.timedelta(seconds=policy.max_age_s))
        alive = (
            ws.revoked_at is None
            and now < deadline
            and (ws.token_id is None or token_revoked_at is None)
            and (ws.user_id is None or (user is not None and user.disabled_at is None))
        )
        if not alive:
            return None
        if (now - ws.last_seen_at).total_seconds() >= policy.touch_every_s:
            ws.last_seen_at = now
            ws.expires_at = now + dt.timedelta(seconds=policy.idle_timeout_s)
        viewer: Viewer
        if user is not None:
            viewer = UserViewer(
                organization_id=org.id,
                organization=org.name,
                kind=OrgKind(org.kind),
                role=Role(ws.role),
                username=user.username,
            )
        else:
            viewer = Viewer(
                organization_id=org.id,
                organization=org.name,
                kind=OrgKind(org.kind),
                role=Role(ws.role),
                token_id=ws.token_id,
            )
        return SignedIn(
            viewer=viewer,
            csrf_token=ws.csrf_secret,
            session_id=ws.id,
            method="password" if user is not None else "token",
        )


def sign_out(db: Database, *, signed_in: SignedIn, clock: Clock) -> None:
    with db.session() as session:
        session.execute(
            update(WebSession)
            .where(WebSession.id == signed_in.session_id, WebSession.revoked_at.is_(None))
            .values(revoked_at=clock.now())
        )
        audit_service.append(
            session,
            clock=clock,
            viewer=signed_in.viewer,
            action="web.signout",
            object_type="web_session",
            object_id=signed_in.session_id[:16],
        )
