"""The records the web matrix (``test_web_matrix.py``) needs beyond the web world
(``tests.web.world``: the owner's one vulnerability per TLP label shared with the vendor, a
token per organization and role, a model engagement with the vendor nominated), made through
the pipeline:

- a validation run (reproduced) on every TLP record, for the verdict filter;
- a case on the AMBER record opened by the coordinator with the vendor (GRANTED): its
  participants are the coordinator, the finder (OWNER, reporter) and the vendor;
- the hospital's (OPERATOR's) network proved by an HTTP token on loopback, with two
  authorizations for the owner's lab to scan it (one to keep, one to revoke).

The scanning pages seed their own campaigns and leases (``web_matrix_scans.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.core.tlp import Tlp
from clearinghouse.pipeline import case_flow, read_flow
from tests.web.dashboard_data import authorize, prove_network
from tests.web.world import COORDINATOR, GRANTED, OPERATOR, OWNER, TLPS, World, add_run

HOSPITAL_NET = "192.0.2.0/24"


@dataclass(frozen=True, slots=True)
class Extras:
    aliases: dict[Tlp, str]
    case: str
    case_participants: frozenset[str]
    authorization: int  # OPERATOR's grant to OWNER, kept
    spare_authorization: int  # another, revoked by the acceptance probe


def build_extras(world: World) -> Extras:
    rt = world.runtime
    aliases = {}
    for tlp in TLPS:
        add_run(rt, finding=world.findings[tlp], verdict="reproduced")
        doc = read_flow.show_vuln(
            rt.db, viewer=LOCAL_ADMIN, clock=rt.clock, public_id=world.vulns[tlp]
        )
        aliases[tlp] = str(doc["aliases"][0])
    opened = case_flow.open_case(
        rt,
        viewer=world.viewers[COORDINATOR.key],
        vuln_ids=[world.vulns[Tlp.AMBER]],
        vendors=[GRANTED.name],
        allow_unvalidated=True,
    )
    case = str(opened["id"])
    shown = case_flow.show_case(rt, viewer=LOCAL_ADMIN, case_id=case)
    participants = frozenset(
        str(p["organization"]) for p in shown["participants"] if p["organization"]
    )
    hospital = world.viewers[OPERATOR.key]
    prove_network(rt, hospital, network=HOSPITAL_NET, domain="valley-hospital.example")
    kept = authorize(rt, hospital, scanner=OWNER.name, network=HOSPITAL_NET)
    spare = authorize(rt, hospital, scanner=OWNER.name, network=HOSPITAL_NET)
    return Extras(
        aliases=aliases,
        case=case,
        case_participants=participants,
        authorization=int(kept["id"]),
        spare_authorization=int(spare["id"]),
    )
