"""Every ORM model of every domain, imported in one place for migrations and tests.

Domains below the pipeline never import each other's models sideways; this module is the
registry Alembic's autogenerate and the schema-drift test compare against.
"""

from __future__ import annotations

from clearinghouse.access.models import ApiToken, Organization, TlpGrant
from clearinghouse.audit.models import AuditEvent, AuditHead
from clearinghouse.dedup.models import DedupIndexEntry, Separation, Suggestion
from clearinghouse.infra.db import Base
from clearinghouse.intake.models import Finding, FindingContent, Submission
from clearinghouse.inventory.models import (
    AdvisoryRecord,
    Inventory,
    InventoryComponent,
    VexRecord,
)
from clearinghouse.prioritization.models import EpssRecord, KevRecord
from clearinghouse.validation.models import PatchValidation, Target, ValidationRun
from clearinghouse.vulns.models import IdCounter, Vulnerability

__all__ = [
    "AdvisoryRecord",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Base",
    "DedupIndexEntry",
    "EpssRecord",
    "Finding",
    "FindingContent",
    "IdCounter",
    "Inventory",
    "InventoryComponent",
    "KevRecord",
    "Organization",
    "PatchValidation",
    "Separation",
    "Submission",
    "Suggestion",
    "Target",
    "TlpGrant",
    "ValidationRun",
    "VexRecord",
    "Vulnerability",
]
