"""VEX readers: OpenVEX, CycloneDX VEX and CSAF VEX documents -> one :class:`VexDocument`."""

from clearinghouse.formats.vex.common import DEFAULT_VEX_LIMITS, VexLimits
from clearinghouse.formats.vex.csaf import read_csaf_vex
from clearinghouse.formats.vex.cyclonedx import read_cyclonedx_vex
from clearinghouse.formats.vex.detect import detect_vex, read_vex
from clearinghouse.formats.vex.openvex import read_openvex
from clearinghouse.formats.vex.records import (
    JUSTIFICATIONS,
    STATUSES,
    VexDocument,
    VexFormat,
    VexStatement,
    VexStatus,
)

__all__ = [
    "DEFAULT_VEX_LIMITS",
    "JUSTIFICATIONS",
    "STATUSES",
    "VexDocument",
    "VexFormat",
    "VexLimits",
    "VexStatement",
    "VexStatus",
    "detect_vex",
    "read_csaf_vex",
    "read_cyclonedx_vex",
    "read_openvex",
    "read_vex",
]
