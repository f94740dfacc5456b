"""Every ORM model of every domain, imported in one place for migrations and tests.

Domains below the pipeline never import each other's models sideways; this module is the
registry Alembic's autogenerate and the schema-drift test compare against.
"""

from __future__ import annotations

from clearinghouse.access.models import ApiToken, Organization, TlpGrant, WebSession, WebUser
from clearinghouse.advisories.models import AdvisoryDocument, Notification, OutboxMessage
from clearinghouse.audit.models import AuditEvent, AuditHead
from clearinghouse.cases.models import (
    Case,
    CaseMessage,
    CasePatch,
    CaseVulnerability,
    DirectoryEntry,
    EmbargoEvent,
    Endpoint,
    Participant,
    VendorNamespace,
    VendorStatus,
)
from clearinghouse.dedup.models import DedupIndexEntry, Separation, Suggestion
from clearinghouse.evaluation.models import (
    AccessGrant,
    Designation,
    Engagement,
    EvalRun,
    EvalSample,
    EvalSuite,
    FrontierModel,
    ModelAssist,
    TrustedPartner,
)
from clearinghouse.infra.db import Base
from clearinghouse.intake.models import Finding, FindingContent, Submission
from clearinghouse.inventory.models import (
    AdvisoryRecord,
    Inventory,
    InventoryComponent,
    VexRecord,
)
from clearinghouse.prioritization.models import EpssRecord, KevRecord
from clearinghouse.scans.models import (
    Campaign,
    CampaignRange,
    Coverage,
    OwnerPolicy,
    Project,
    ScanAuthorization,
    ScanLease,
    ScopeClaim,
)
from clearinghouse.validation.models import PatchValidation, Target, ValidationRun
from clearinghouse.vulns.models import IdCounter, Vulnerability

__all__ = [
    "AccessGrant",
    "AdvisoryDocument",
    "AdvisoryRecord",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Campaign",
    "CampaignRange",
    "Case",
    "CaseMessage",
    "CasePatch",
    "CaseVulnerability",
    "Coverage",
    "DedupIndexEntry",
    "Designation",
    "DirectoryEntry",
    "EmbargoEvent",
    "Endpoint",
    "Engagement",
    "EpssRecord",
    "EvalRun",
    "EvalSample",
    "EvalSuite",
    "Finding",
    "FindingContent",
    "FrontierModel",
    "IdCounter",
    "Inventory",
    "InventoryComponent",
    "KevRecord",
    "ModelAssist",
    "Notification",
    "Organization",
    "OutboxMessage",
    "OwnerPolicy",
    "Participant",
    "PatchValidation",
    "Project",
    "ScanAuthorization",
    "ScanLease",
    "ScopeClaim",
    "Separation",
    "Submission",
    "Suggestion",
    "Target",
    "TlpGrant",
    "TrustedPartner",
    "ValidationRun",
    "VendorNamespace",
    "VendorStatus",
    "VexRecord",
    "Vulnerability",
    "WebSession",
    "WebUser",
]
