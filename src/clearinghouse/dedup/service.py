"""Cluster incoming findings into vulnerabilities, and let analysts merge and split.

This is the database side of ``dedup.clustering``: per batch it computes identity keys
(``dedup.fingerprint``), looks them up in the ``dedup_index`` table, asks the pure planner what
to do, and writes the result (new vulnerabilities, merges, finding rows, index rows,
suggestions) in the caller's transaction. A whole submission is one transaction, so a failure
at any batch leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import delete, insert, or_, select, text, update
from sqlalchemy.orm import Session

from clearinghouse.core.clock import Clock
from clearinghouse.core.errors import ConflictError, InputError, NotFoundError
from clearinghouse.dedup import clustering
from clearinghouse.dedup.fingerprint import IdentityKeys, identity_keys, near_key
from clearinghouse.dedup.models import DedupIndexEntry, Separation, Suggestion
from clearinghouse.dedup.similarity import SuggestionInput, suggest
from clearinghouse.formats.records import FindingRecord
from clearinghouse.infra.bulk import insert_rows, table_of
from clearinghouse.intake import service as intake_service
from clearinghouse.intake.finding_rows import CONTENT_COLUMNS, content_columns
from clearinghouse.intake.models import Finding, FindingContent, Submission
from clearinghouse.vulns import service as vulns_service
from clearinghouse.vulns.models import Vulnerability

_LOOKUP_CHUNK = 5_000  # bound parameters per IN (...) query (SQLite allows 32,766)


@dataclass(slots=True)
class IngestResult:
    findings: int = 0
    new_vulnerabilities: int = 0
    duplicates: int = 0
    known: set[int] = field(default_factory=set)  # vulnerabilities that existed before
    created: set[int] = field(default_factory=set)


def _batched(items: Iterable[FindingRecord], size: int) -> Iterator[list[FindingRecord]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _encode_cwes(cwes: tuple[int, ...]) -> str:
    return ",".join(str(cwe) for cwe in cwes)


@functools.lru_cache(maxsize=4096)
def _decode_cwes(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",")) if text else ()


def _lookup(session: Session, keys: Sequence[str]) -> dict[str, list[clustering.IndexEntry]]:
    """Stored index entries for ``keys``, with plain SQL: this runs once per batch with
    thousands of keys, where compiling an expanding ``IN`` costs more than the query."""
    found: dict[str, list[clustering.IndexEntry]] = defaultdict(list)
    connection = session.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start : start + _LOOKUP_CHUNK]
        sql = (  # only placeholders go into the text; the keys are bound
            "SELECT key, vulnerability_id, cwes FROM dedup_index WHERE key IN ("  # noqa: S608
            + ", ".join(marker for _ in chunk)
            + ")"
        )
        entry = clustering.IndexEntry
        for key, vuln, cwes in connection.exec_driver_sql(sql, tuple(chunk)):
            found[key].append(entry(key, vuln, _decode_cwes(cwes)))
    return found


def _separations(session: Session, vulns: set[int]) -> set[frozenset[int]]:
    if not vulns:
        return set()
    ids = list(vulns)
    rows = session.execute(
        select(Separation.vulnerability_a, Separation.vulnerability_b).where(
            or_(Separation.vulnerability_a.in_(ids), Separation.vulnerability_b.in_(ids))
        )
    )
    return {frozenset((a, b)) for a, b in rows}


def _merge_into(session: Session, *, survivor: int, merged: Sequence[int], clock: Clock) -> None:
    """Fold ``merged`` vulnerabilities into ``survivor``: findings, index, separations."""
    ids = list(merged)
    session.execute(
        update(Finding).where(Finding.vulnerability_id.in_(ids)).values(vulnerability_id=survivor)
    )
    session.execute(
        update(DedupIndexEntry)
        .where(DedupIndexEntry.vulnerability_id.in_(ids))
        .values(vulnerability_id=survivor)
    )
    session.execute(
        update(Separation)
        .where(Separation.vulnerability_a.in_(ids))
        .values(vulnerability_a=survivor)
    )
    session.execute(
        update(Separation)
        .where(Separation.vulnerability_b.in_(ids))
        .values(vulnerability_b=survivor)
    )
    session.execute(
        update(Suggestion).where(Suggestion.vulnerability_a.in_(ids)).values(status="merged")
    )
    session.execute(
        update(Suggestion).where(Suggestion.vulnerability_b.in_(ids)).values(status="merged")
    )
    vulns_service.mark_merged(session, ids=ids, into=survivor, clock=clock)


def _suggest(
    session: Session, *, a: int, b: int, score: float, reason: str, now: dt.datetime
) -> None:
    low, high = min(a, b), max(a, b)
    if low == high:
        return
    exists = session.scalars(
        select(Suggestion.id).where(
            Suggestion.vulnerability_a == low, Suggestion.vulnerability_b == high
        )
    ).first()
    if exists is None:
        session.add(
            Suggestion(
                vulnerability_a=low,
                vulnerability_b=high,
                score=score,
                reason=reason,
                status="open",
                created_at=now,
            )
        )


class _IndexCache:
    """The index entries this import has looked up or written, kept true for its transaction.

    Repeated scans in one log hit the same keys again and again; asking the database once per
    key instead of once per batch halves the cost of clustering them. Merges re-point cached
    entries exactly as ``_merge_into`` re-points stored rows.
    """

    def __init__(self) -> None:
        self.entries: dict[str, list[clustering.IndexEntry]] = {}
        self.keys_of: dict[int, set[str]] = defaultdict(set)

    def index_for(
        self, session: Session, wanted: Sequence[str]
    ) -> dict[str, list[clustering.IndexEntry]]:
        missing = [key for key in wanted if key not in self.entries]
        if missing:
            fetched = _lookup(session, missing)
            for key in missing:
                entries = fetched.get(key, [])
                self.entries[key] = entries
                for entry in entries:
                    self.keys_of[entry.vulnerability].add(key)
        return {key: self.entries[key] for key in wanted if self.entries[key]}

    def add(self, key: str, vulnerability: int, cwes: tuple[int, ...]) -> None:
        self.entries.setdefault(key, []).append(clustering.IndexEntry(key, vulnerability, cwes))
        self.keys_of[vulnerability].add(key)

    def merge(self, survivor: int, merged: Sequence[int]) -> None:
        for old in merged:
            for key in self.keys_of.pop(old, set()):
                self.entries[key] = [
                    clustering.IndexEntry(key, survivor, e.cwes) if e.vulnerability == old else e
                    for e in self.entries[key]
                ]
                self.keys_of[survivor].add(key)


class _Derived:
    """Identity keys and row contents per distinct finding of one import.

    Stacked scans repeat the same finding many times; its keys and columns depend only on its
    content (``FindingRecord.signature``), so they are computed once. Bounded like the SARIF
    reader's memo, so that a document of all-different findings holds no more than this.
    """

    _ENTRIES = 50_000

    def __init__(self, target: str | None) -> None:
        self._target = target
        self._seen: dict[Hashable, tuple[IdentityKeys, tuple[Any, ...]]] = {}
        self.stored: set[str] = set()  # digests this import has written

    def derive(self, record: FindingRecord) -> tuple[IdentityKeys, tuple[Any, ...]]:
        """The finding's identity keys and its ``finding_contents`` row (digest first)."""
        signature = record.signature()
        known = self._seen.get(signature)
        if known is None:
            # The submitter's --target wins; otherwise what the document says (SARIF provenance).
            keys = identity_keys(record, target=self._target or record.target)
            content = content_columns(record, target=self._target, identity=_identity_json(keys))
            known = (keys, content)
            if len(self._seen) >= self._ENTRIES:
                self._seen.clear()
            self._seen[signature] = known
        return known


def _all_separations(session: Session) -> set[frozenset[int]]:
    """Every analyst split (a short table: one row per split decision)."""
    rows = session.execute(select(Separation.vulnerability_a, Separation.vulnerability_b))
    return {frozenset((a, b)) for a, b in rows}


_PLACED_ENTRIES = 200_000
_SUGGEST_MAX_NEW = 500
_SUGGEST_MAX_CANDIDATES = 2_000
_SUGGESTIONS_PER_VULNERABILITY = 3
_CLUSTER_LOCK = 0x43484455505F  # "CHDUP_": one clustering transaction at a time on PostgreSQL


def ingest(
    session: Session,
    *,
    submission: Submission,
    records: Iterable[FindingRecord],
    target: str | None,
    clock: Clock,
    batch_size: int,
) -> IngestResult:
    """Store every record of ``submission`` as a finding, clustered into vulnerabilities.

    Clustering reads the index and then writes to it, so two imports interleaving could each
    create a vulnerability for the same flaw. SQLite already runs one writer at a time; on
    PostgreSQL a transaction-scoped advisory lock gives the same guarantee.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLUSTER_LOCK})
    result = IngestResult()
    now = clock.now()
    created_at = intake_service.bound_created_at(session, now)
    cache = _IndexCache()
    memo = _Derived(target)
    separated = _all_separations(session)
    # Contents already placed by this import, by digest. The index only grows and
    # vulnerabilities only merge, so planning such a content again would give the same answer
    # (followed through later merges); stacked scans are mostly such repeats.
    placed: dict[str, int] = {}
    merged_into: dict[int, int] = {}
    first_content: dict[int, tuple[Any, ...]] = {}  # new vulnerability -> its first content
    near_stored: set[tuple[str, int]] = set()

    def resolve(vulnerability: int) -> int:
        while vulnerability in merged_into:
            vulnerability = merged_into[vulnerability]
        return vulnerability

    submission_id, organization_id, tlp = (
        submission.id,
        submission.organization_id,
        submission.tlp,
    )
    seq = 0
    for batch in _batched(records, batch_size):
        # Bounded memory for documents of millions of different findings: forgetting a
        # placement only means planning it again, forgetting a stored digest or near key only
        # means inserting it again (a no-op or a harmless duplicate index row).
        for remembered in (placed, memo.stored, near_stored):
            if len(remembered) > _PLACED_ENTRIES:
                remembered.clear()
        near_rows: list[tuple[str, int, str]] = []
        derived = [memo.derive(record) for record in batch]
        first_seen = [i for i, (_, content) in enumerate(derived) if content[0] not in placed]
        keys = [derived[i][0] for i in first_seen]
        wanted = sorted({k for item in keys for k in (*item.exact, *item.locations)})
        plan = clustering.plan(
            [clustering.NewFinding.from_keys(i, item) for i, item in enumerate(keys)],
            index=cache.index_for(session, wanted),
            separated=separated,
        )
        new_groups = [g for g, group in enumerate(plan.groups) if group.survivor is None]
        created = vulns_service.create_many(session, count=len(new_groups), clock=clock)
        result.created.update(created)
        created_here = set(created)
        vuln_of_group: dict[int, int] = dict(zip(new_groups, created, strict=True))
        for g, group in enumerate(plan.groups):
            if group.survivor is None:
                continue
            vuln_of_group[g] = group.survivor
            if group.survivor not in result.created:
                result.known.add(group.survivor)
            if group.merged:
                _merge_into(session, survivor=group.survivor, merged=group.merged, clock=clock)
                cache.merge(group.survivor, group.merged)
                for old in group.merged:
                    merged_into[old] = group.survivor
                # A vulnerability made earlier in this submission may fold into an older one.
                result.created.difference_update(group.merged)
                result.known.difference_update(group.merged)
        for j, i in enumerate(first_seen):
            content = derived[i][1]
            vulnerability = vuln_of_group[plan.assignments[j]]
            if content[0] not in placed:
                placed[content[0]] = vulnerability
            if vulnerability in created_here and len(first_content) <= _SUGGEST_MAX_NEW:
                first_content.setdefault(vulnerability, content)
            near = near_key(target=content[_CONTENT["target"]], path=content[_CONTENT["path"]])
            if near is not None and (near, vulnerability) not in near_stored:
                near_stored.add((near, vulnerability))
                near_rows.append((near, vulnerability, ""))

        rows = []
        contents = []
        for record, (_, content) in zip(batch, derived, strict=True):
            seq += 1
            digest = content[0]
            if digest not in memo.stored:
                memo.stored.add(digest)
                contents.append(content)
            rows.append(
                (
                    submission_id,
                    organization_id,
                    seq,
                    resolve(placed[digest]),
                    tlp,
                    record.pointer,
                    digest,
                    created_at,
                )
            )
        intake_service.insert_contents(session, rows=contents)
        intake_service.insert_findings(session, rows=rows)
        if near_rows:
            insert_rows(
                session, table_of(DedupIndexEntry), ("key", "vulnerability_id", "cwes"), near_rows
            )
        if plan.entries:
            new_entries = []
            for entry in plan.entries:
                vulnerability = vuln_of_group[entry.group]
                cache.add(entry.key, vulnerability, entry.cwes)
                new_entries.append((entry.key, vulnerability, _encode_cwes(entry.cwes)))
            insert_rows(
                session, table_of(DedupIndexEntry), ("key", "vulnerability_id", "cwes"), new_entries
            )
        for blocked in plan.blocked:
            _suggest(
                session,
                a=vuln_of_group[blocked.group],
                b=blocked.vulnerability,
                score=1.0,
                reason="matches a vulnerability an analyst split off",
                now=now,
            )
        result.findings += len(batch)
    result.new_vulnerabilities = len(result.created)
    result.duplicates = result.findings - result.new_vulnerabilities
    if 0 < result.new_vulnerabilities <= _SUGGEST_MAX_NEW:
        _suggest_similar(
            session,
            new={v: c for v, c in first_content.items() if v in result.created},
            now=now,
        )
    return result


_CONTENT = {name: position for position, name in enumerate(CONTENT_COLUMNS)}


def _suggestion_input(ref: int, content: Sequence[Any]) -> SuggestionInput:
    return SuggestionInput.of(
        ref,
        title=content[_CONTENT["title"]],
        description=content[_CONTENT["description"]],
        target=content[_CONTENT["target"]],
        path=content[_CONTENT["path"]],
        line=content[_CONTENT["start_line"]],
        cwes=orjson.loads(content[_CONTENT["cwes"]]),
    )


def _suggest_similar(
    session: Session, *, new: dict[int, tuple[Any, ...]], now: dt.datetime
) -> None:
    """Offer likely-but-unsure duplicates of new vulnerabilities to analysts (never merged).

    Candidates are vulnerabilities with a finding in the same file of the same target: similar
    words, or nearby lines (``dedup.similarity``). Bounded to imports that make few new
    vulnerabilities, the incremental reports analysts triage; a bulk baseline import of
    thousands would compare thousands against thousands.
    """
    paths = sorted({c[_CONTENT["path"]] for c in new.values() if c[_CONTENT["path"]]})
    near = sorted(
        {
            k
            for c in new.values()
            if (k := near_key(target=c[_CONTENT["target"]], path=c[_CONTENT["path"]]))
        }
    )
    if not near:
        return
    candidates = sorted(
        set(
            session.scalars(
                select(DedupIndexEntry.vulnerability_id).where(DedupIndexEntry.key.in_(near))
            )
        )
    )[:_SUGGEST_MAX_CANDIDATES]
    rows = session.execute(
        select(
            Finding.vulnerability_id,
            FindingContent.title,
            FindingContent.description,
            FindingContent.target,
            FindingContent.path,
            FindingContent.start_line,
            FindingContent.cwes,
        )
        .join(Finding, Finding.content_digest == FindingContent.digest)
        .where(Finding.vulnerability_id.in_(candidates), FindingContent.path.in_(paths))
        .distinct()
    )
    by_path: dict[str, list[SuggestionInput]] = defaultdict(list)
    for vuln, title, description, target, path, line, cwes in rows:
        candidate = SuggestionInput.of(
            vuln,
            title=title,
            description=description,
            target=target,
            path=path,
            line=line,
            cwes=orjson.loads(cwes),
        )
        by_path[candidate.path].append(candidate)
    for vuln, content in new.items():
        mine = _suggestion_input(vuln, content)
        offers = [c for c in by_path.get(mine.path, ()) if c.ref != vuln]
        seen: set[int] = set()
        for offer in suggest(mine, offers):
            if offer.other_ref in seen:
                continue
            seen.add(offer.other_ref)
            _suggest(
                session, a=vuln, b=offer.other_ref, score=offer.score, reason=offer.reason, now=now
            )
            if len(seen) >= _SUGGESTIONS_PER_VULNERABILITY:
                break


def _identity_json(item: IdentityKeys) -> str:
    return orjson.dumps(
        {"exact": item.exact, "locations": item.locations, "cwes": [str(c) for c in item.cwes]}
    ).decode()


def _reindex(session: Session, *, vulnerability_ids: Sequence[int]) -> None:
    """Rebuild the index rows of some vulnerabilities from their findings' stored keys."""
    ids = list(vulnerability_ids)
    session.execute(delete(DedupIndexEntry).where(DedupIndexEntry.vulnerability_id.in_(ids)))
    wanted: set[tuple[str, int, str]] = set()
    rows = session.execute(
        select(
            Finding.vulnerability_id,
            FindingContent.identity,
            FindingContent.target,
            FindingContent.path,
        )
        .join(FindingContent, FindingContent.digest == Finding.content_digest)
        .where(Finding.vulnerability_id.in_(ids))
    )
    for vuln, identity_text, target, path in rows:
        identity = orjson.loads(identity_text)
        near = near_key(target=target, path=path)
        if near is not None:
            wanted.add((near, vuln, ""))
        cwes = ",".join(identity.get("cwes", []))
        wanted.update((key, vuln, "") for key in identity["exact"])
        if cwes:
            wanted.update((key, vuln, cwes) for key in identity["locations"])
    if wanted:
        session.execute(
            insert(DedupIndexEntry),
            [{"key": k, "vulnerability_id": v, "cwes": c} for k, v, c in sorted(wanted)],
        )


def merge(session: Session, *, into: Vulnerability, other: Vulnerability, clock: Clock) -> None:
    """Analyst merge: ``other`` joins ``into``; its id keeps resolving to ``into``."""
    if into.id == other.id:
        raise InputError("vulns merge: a vulnerability cannot be merged into itself")
    for vuln in (into, other):
        if vuln.status == "merged":
            raise ConflictError(f"{vuln.public_id} was already merged; merge its survivor")
    session.execute(
        delete(Separation).where(
            or_(
                (Separation.vulnerability_a == min(into.id, other.id))
                & (Separation.vulnerability_b == max(into.id, other.id)),
            )
        )
    )
    _merge_into(session, survivor=into.id, merged=[other.id], clock=clock)
    session.execute(
        update(Suggestion)
        .where(
            Suggestion.vulnerability_a == min(into.id, other.id),
            Suggestion.vulnerability_b == max(into.id, other.id),
        )
        .values(status="merged")
    )


def split(
    session: Session,
    *,
    vuln: Vulnerability,
    finding_ids: Sequence[int],
    actor: str,
    clock: Clock,
) -> Vulnerability:
    """Analyst split: the findings leave ``vuln`` for a new vulnerability, never re-merged."""
    if vuln.status == "merged":
        raise ConflictError(f"{vuln.public_id} was merged; split its survivor")
    members = set(session.scalars(select(Finding.id).where(Finding.vulnerability_id == vuln.id)))
    missing = [fid for fid in finding_ids if fid not in members]
    if missing:
        raise NotFoundError(f"finding {missing[0]} is not part of {vuln.public_id}")
    if len(set(finding_ids)) >= len(members):
        raise InputError("vulns split: at least one finding must stay with the vulnerability")
    (new_id,) = vulns_service.create_many(session, count=1, clock=clock)
    session.execute(
        update(Finding).where(Finding.id.in_(list(finding_ids))).values(vulnerability_id=new_id)
    )
    session.add(
        Separation(
            vulnerability_a=min(vuln.id, new_id),
            vulnerability_b=max(vuln.id, new_id),
            actor=actor,
            created_at=clock.now(),
        )
    )
    _reindex(session, vulnerability_ids=[vuln.id, new_id])
    session.flush()
    created = session.get(Vulnerability, new_id)
    assert created is not None
    return created


def open_suggestions(session: Session, *, vulnerability_id: int) -> list[Suggestion]:
    return list(
        session.scalars(
            select(Suggestion)
            .where(
                Suggestion.status == "open",
                or_(
                    Suggestion.vulnerability_a == vulnerability_id,
                    Suggestion.vulnerability_b == vulnerability_id,
                ),
            )
            .order_by(Suggestion.score.desc(), Suggestion.id)
        )
    )


# --- exact keys learnt after intake (crash signatures) -----------------------------------------


def vulnerabilities_with_key(session: Session, *, key: str) -> list[int]:
    """The (surviving) vulnerabilities an exact key in the index points at."""
    return sorted(
        set(
            session.scalars(
                select(DedupIndexEntry.vulnerability_id).where(DedupIndexEntry.key == key)
            )
        )
    )


def add_exact_key(session: Session, *, key: str, vulnerability_id: int) -> bool:
    """Index ``key`` for ``vulnerability_id`` unless it already is; whether a row was added.

    For identity learnt after intake, such as a reproduction's crash signature: a later
    finding whose proof crashes the same way finds the vulnerability by this key.
    """
    present = session.scalars(
        select(DedupIndexEntry.id).where(
            DedupIndexEntry.key == key, DedupIndexEntry.vulnerability_id == vulnerability_id
        )
    ).first()
    if present is not None:
        return False
    session.add(DedupIndexEntry(key=key, vulnerability_id=vulnerability_id, cwes=""))
    session.flush()
    return True


@dataclass(frozen=True, slots=True)
class GroupMerge:
    survivor: int
    merged: tuple[int, ...]
    blocked: tuple[int, ...]  # kept apart by an analyst's separation (offered as suggestions)


def merge_group(session: Session, *, vulnerability_ids: Sequence[int], clock: Clock) -> GroupMerge:
    """Merge vulnerabilities the engine found to be one flaw into the oldest of them.

    Ids are first followed through earlier merges. A vulnerability an analyst separated from
    any member of the group stays apart and becomes a suggestion instead, exactly as the
    intake planner treats separations.
    """
    resolved: set[int] = set()
    for vulnerability_id in vulnerability_ids:
        vuln = session.get(Vulnerability, vulnerability_id)
        if vuln is None:
            raise NotFoundError(f"vulnerability row {vulnerability_id} does not exist")
        resolved.add(vulns_service.resolve_merged(session, vuln=vuln).id)
    ordered = sorted(resolved)
    survivor = ordered[0]
    separated = _separations(session, resolved)
    group = [survivor]
    merged: list[int] = []
    blocked: list[int] = []
    now = clock.now()
    for candidate in ordered[1:]:
        if any(frozenset((candidate, member)) in separated for member in group):
            blocked.append(candidate)
            _suggest(
                session,
                a=survivor,
                b=candidate,
                score=1.0,
                reason="same crash signature as a vulnerability an analyst split off",
                now=now,
            )
            continue
        group.append(candidate)
        merged.append(candidate)
    if merged:
        _merge_into(session, survivor=survivor, merged=merged, clock=clock)
    session.flush()
    return GroupMerge(survivor=survivor, merged=tuple(merged), blocked=tuple(blocked))
