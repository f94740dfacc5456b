"""Organization kinds, sectors and token roles, and what each role may do.

Pure data and rules; the API and CLI ask ``require`` before acting.
"""

from __future__ import annotations

import enum
from typing import TypeVar

from clearinghouse.core.errors import InputError, PermissionDeniedError


class OrgKind(enum.StrEnum):
    COORDINATOR = "coordinator"
    AI_LAB = "ai-lab"
    AGENCY = "agency"
    RESEARCHER = "researcher"
    VENDOR = "vendor"
    OPERATOR = "operator"
    MODEL_DEVELOPER = "model-developer"


class Sector(enum.StrEnum):
    HEALTHCARE = "healthcare"
    FINANCE = "finance"
    ENERGY = "energy"
    WATER = "water"
    COMMUNICATIONS = "communications"
    GOVERNMENT = "government"
    OTHER = "other"


class Role(enum.StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    SUBMITTER = "submitter"
    VIEWER = "viewer"


class Action(enum.StrEnum):
    READ = "read"
    SUBMIT = "submit"
    TRIAGE = "triage"  # merge, split, grant access to own submissions
    MANAGE_ORGS = "manage-orgs"
    MANAGE_TOKENS = "manage-tokens"
    VERIFY_AUDIT = "verify-audit"


_ALLOWED: dict[Role, frozenset[Action]] = {
    Role.VIEWER: frozenset({Action.READ}),
    Role.SUBMITTER: frozenset({Action.READ, Action.SUBMIT}),
    Role.ANALYST: frozenset({Action.READ, Action.SUBMIT, Action.TRIAGE}),
    Role.ADMIN: frozenset(
        {Action.READ, Action.SUBMIT, Action.TRIAGE, Action.MANAGE_TOKENS, Action.VERIFY_AUDIT}
    ),
}

# Actions that reach across organizations belong to the clearinghouse's own coordinators.
_COORDINATOR_ONLY = frozenset({Action.MANAGE_ORGS, Action.VERIFY_AUDIT})


def may(*, role: Role, kind: OrgKind, action: Action) -> bool:
    if action is Action.MANAGE_ORGS:
        return kind is OrgKind.COORDINATOR and role is Role.ADMIN
    if action in _COORDINATOR_ONLY and kind is not OrgKind.COORDINATOR:
        return False
    return action in _ALLOWED[role]


def require(*, role: Role, kind: OrgKind, action: Action) -> None:
    if not may(role=role, kind=kind, action=action):
        raise PermissionDeniedError(f"role {role.value} of a {kind.value} may not {action.value}")


E = TypeVar("E", bound=enum.StrEnum)


def parse_enum(enum_type: type[E], value: str, *, field: str) -> E:
    try:
        return enum_type(value)
    except ValueError:
        allowed = "|".join(member.value for member in enum_type)
        raise InputError(f"{field}: {value!r} is not one of {allowed}") from None
