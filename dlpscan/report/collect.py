"""Everything a report shows, read from the store in one pass over the scan's files.

Only what the pages list is kept in memory (findings, false positives, the first coverage gaps);
every file is passed to `on_row` for the CSV/XLSX exports, so 100,000 files stream through.
Raw values never reach this module (the store has none); fingerprints are not copied into rows.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dlpscan.access import UNKNOWN, rank
from dlpscan.detect.categories import data_categories
from dlpscan.detect.registry import DefinitionError, RecognizerDef, load_definitions
from dlpscan.entities import DataCategory, EntityTypes
from dlpscan.findings import confidence, pick_samples, ranked_types, shown_locations
from dlpscan.model import Access, FileResult, RuleHit, Status
from dlpscan.policy import SEVERITY_ORDER, Policy, PolicyError, evaluate, evaluate_scope, load_policy
from dlpscan.policy.risk import grade
from dlpscan.store import Store
from dlpscan.store.codec import folder_of
from dlpscan.store.exposure import UNKNOWN_OWNER

from .legal import JUDICIAL_POLICY, Grader, Grading, Note, notes_for

GAP_STATUSES = (Status.ENCRYPTED, Status.ERROR, Status.SKIPPED, Status.PARTIAL)  # partial: read up to a limit
GAP_ROWS = 1000  # coverage-gap files listed on the page (all are counted, and all are in CSV/XLSX)
MAX_SAMPLES = 3
LOCATIONS = 3  # per type and file on the page (the report line and `db files --json` have the sample)


class ReportError(Exception):
    """The report cannot be made (no such scan, unknown policy); one readable line."""


@dataclass(slots=True)
class Options:
    scan_id: int | None = None
    since: float | None = None  # POSIX seconds: the period starts here (the trend too)
    until: float | None = None  # POSIX seconds: the period ends before this
    policy: str | None = None  # given: re-evaluate every file under it; None: the scan's decisions
    fallback_policy: str = "default"  # for cumulative rules when the scan's policy cannot be loaded
    policy_dirs: tuple[Path, ...] = ()
    recognizer_dirs: tuple[Path, ...] = ()


@dataclass(slots=True)
class FileRow:
    """One file or archive member, as the report shows it (counts and masked samples only)."""

    path: str
    folder: str
    owner: str | None
    size: int | None
    mtime: float | None
    status: str
    media_type: str
    reason: str | None
    is_container: bool
    flagged: bool  # by the report policy, before false-positive marks
    severity: str
    rules: list[RuleHit]
    records: int
    people: int
    types: list[tuple[str, int, int]]  # (entity type, distinct, total), most distinct first
    samples: list[tuple[str, str]]  # (entity type, masked form)
    where: list[tuple[str, str, list[str]]]  # (entity type, confidence, first locations), most distinct first
    grading: Grading
    notes: list[Note]
    triage: dict | None
    false_positive: bool  # flagged, and a false-positive mark still applies
    edm: tuple[int, int] | None = None  # (high, medium) master-list rows matched; None: scanned without EDM
    access: Access | None = None  # who can read the file (None: not known to the store)
    risk: str = "none"  # severity (under the report's policy) x exposure
    risk_score: int = 0
    stale: bool = False

    @property
    def level(self) -> str:
        return self.access.level if self.access is not None else UNKNOWN

    @property
    def finding(self) -> bool:
        return self.flagged and not self.false_positive


@dataclass(slots=True)
class GroupRow:
    """Cumulative exposure of one folder or owner."""

    key: str
    files: int
    flagged: int
    people: int
    per_type: dict[str, int]
    hits: list[RuleHit]
    grading: Grading
    notes: list[Note]
    edm: tuple[int, int] = (0, 0)  # distinct master-list rows matched (EDM), of which high

    @property
    def listed(self) -> bool:
        return bool(self.hits) or self.grading.level != "below"


@dataclass(slots=True)
class ExposedFolder:
    """A folder holding findings, with the widest access among them (docs/exposure.md)."""

    folder: str
    level: str  # the widest exposure level of its findings
    principal: str  # who decides that level (of the riskiest such file)
    findings: int
    risk: str  # the highest risk among its findings
    risk_score: int


@dataclass(slots=True)
class ReportData:
    generated: float
    scan: dict
    current: dict  # entity_history entry of the reported scan
    previous: dict | None  # entity_history entry of the previous completed scan of the same roots
    history: list[dict]  # completed scans of the same roots in the window (or the sessions), oldest first
    window: tuple[float, float]
    policy: Policy
    policy_note: tuple[str, dict] | None  # i18n key and fields explaining where decisions come from
    judicial: Policy
    versions: dict[str, str]
    files_scanned: int
    bytes_scanned: int
    people: int
    recognisers: tuple[RecognizerDef, ...]
    types: EntityTypes
    categories: dict[str, DataCategory] = field(default_factory=dict)  # legal data categories, by name
    sessions: list[dict] = field(
        default_factory=list
    )  # watch sessions in the scope (+ `items`), oldest first
    findings: list[FileRow] = field(default_factory=list)
    false_positives: list[FileRow] = field(default_factory=list)
    gaps: list[FileRow] = field(default_factory=list)
    gap_counts: Counter = field(default_factory=Counter)  # (status, reason) -> files
    items: int = 0
    severity_counts: Counter = field(default_factory=Counter)  # findings by severity
    remediation_counts: Counter = field(default_factory=Counter)  # findings by triage status
    triage: list[dict] = field(default_factory=list)  # every decision, with `in_scan`
    folders: list[GroupRow] = field(default_factory=list)
    owners: list[GroupRow] = field(default_factory=list)
    edm_indexes: list[dict] = field(default_factory=list)  # EDM index versions the scope was matched with
    access_counts: Counter = field(default_factory=Counter)  # findings by exposure level
    exposed_folders: list[ExposedFolder] = field(default_factory=list)  # most exposed first

    @property
    def access_known(self) -> bool:
        """Whether the store knows who can read any finding (scans since migration 0007)."""
        return any(r.access is not None for r in self.findings)

    @property
    def edm(self) -> bool:
        return bool(self.edm_indexes)

    @property
    def roots(self) -> list[str]:
        """The roots of the scan and of the watch sessions in the scope, each once."""
        return list(dict.fromkeys(r for s in (self.scan, *self.sessions) for r in s["roots"]))

    @property
    def watch_only(self) -> bool:
        """The scope is what the watch daemon recorded: not a complete inventory of the roots."""
        return self.scan["kind"] == "watch"

    @property
    def serious_files(self) -> int:
        return sum(1 for r in self.findings if r.grading.serious)

    @property
    def groups_hit(self) -> int:
        return sum(1 for g in (*self.folders, *self.owners) if g.hits)

    def display_path(self, path: str) -> str:
        """Relative to the root when exactly one root was scanned (the scope section names it)."""
        if len(self.roots) == 1:
            root = self.roots[0].rstrip("/")
            if path == root:
                return "."
            if path.startswith(root + "/"):
                return path[len(root) + 1 :]
        return path


def collect(store: Store, options: Options, on_row: Callable[[FileRow], None] | None = None) -> ReportData:
    """Read the chosen scope and everything around it; raises ReportError when it cannot.

    The scope: the scan asked for; else, in the period, the latest completed scan together with the
    watch sessions that recorded files since it started, or those sessions alone.
    """
    scans = store.scans()
    history_all = store.entity_history()
    recorded = {h["scan_id"]: h["files"] for h in history_all if h["files"]}
    scan, sessions = _choose_scope(scans, set(recorded), options)
    ids = list(dict.fromkeys([scan["id"], *(s["id"] for s in sessions)]))
    scope: int | list[int] = ids if len(ids) > 1 else ids[0]
    current = next(h for h in history_all if h["scan_id"] == scan["id"])
    if scan["kind"] == "watch":
        earlier, history = [], [h for h in history_all if h["scan_id"] in ids]
    else:
        same_roots_ids = {s["id"] for s in scans if sorted(s["roots"]) == sorted(scan["roots"])}
        same_roots = [h for h in history_all if h["scan_id"] in same_roots_ids]
        earlier = [h for h in same_roots if h["scan_id"] < scan["id"] and h["status"] == "completed"]
        history = [
            h
            for h in [*earlier, current]
            if options.since is None or h["started"] >= options.since or h is current
        ]
    try:
        categories = data_categories(options.recognizer_dirs)
    except DefinitionError as exc:
        raise ReportError(str(exc)) from None
    policy, reevaluate, policy_note = _policy(scan, options, store.types, categories)
    try:
        judicial = load_policy(JUDICIAL_POLICY, options.policy_dirs, store.types, categories)
    except (PolicyError, DefinitionError) as exc:
        raise ReportError(str(exc)) from None
    stats = scan["stats"] or {}
    ends = [s["finished"] or s["started"] for s in (scan, *sessions)]
    data = ReportData(
        generated=time.time(),
        scan=scan,
        current=current,
        previous=earlier[-1] if earlier else None,
        history=history,
        window=(
            options.since if options.since is not None else history[0]["started"],
            options.until if options.until is not None else max(ends),
        ),
        policy=policy,
        policy_note=policy_note,
        judicial=judicial,
        versions=_versions(scan["versions"]["detector"]),
        files_scanned=stats.get("files", current["files"]),
        bytes_scanned=stats.get("bytes", current["bytes"]),
        people=store.distinct_people(scope),
        recognisers=load_definitions(options.recognizer_dirs),
        types=store.types,
        categories=categories,
        sessions=[x | {"items": recorded.get(x["id"], 0)} for x in sessions],
        edm_indexes=store.edm_indexes(scope),
    )
    decisions = {t["path"]: t for t in store.triage_all()}
    grader = Grader(judicial)
    flagged_by = {"folder": Counter(), "owner": Counter()}
    seen_triaged: set[str] = set()
    files = size = 0
    for result in store.file_results(scope):
        row = _row(
            result,
            policy if reevaluate else None,
            grader,
            decisions.get(result.path),
            store.types,
            categories,
        )
        data.items += 1
        if not row.is_container:
            files, size = files + 1, size + (row.size or 0)
        if row.triage is not None:
            seen_triaged.add(row.path)
        _keep(data, row)
        if row.finding:
            flagged_by["folder"][row.folder] += 1
            flagged_by["owner"][row.owner or UNKNOWN_OWNER] += 1
        if on_row is not None:
            on_row(row)
    if len(ids) > 1 or scan["kind"] == "watch":  # no one scan's statistics describe the scope
        data.files_scanned, data.bytes_scanned = files, size
    data.findings.sort(key=_most_severe_first)
    data.false_positives.sort(key=_most_severe_first)
    data.triage = [t | {"in_scan": t["path"] in seen_triaged} for t in decisions.values()]
    data.exposed_folders = _exposed_folders(data.findings)
    data.folders = _groups(store, scope, "folder", policy, grader, flagged_by["folder"], categories)
    data.owners = _groups(store, scope, "owner", policy, grader, flagged_by["owner"], categories)
    return data


def _choose_scope(scans: list[dict], recorded: set[int], options: Options) -> tuple[dict, list[dict]]:
    """(the scan the report is named after, the watch sessions reported with it, oldest first).

    `recorded`: ids of scans and sessions that recorded files (a daemon restart that saw no change
    adds nothing). Without --scan: the newest completed scan started in the period, with the watch
    sessions of the period that ran after it started; with no such scan, those sessions alone.
    """
    if options.scan_id is not None:
        for s in scans:
            if s["id"] == options.scan_id:
                return s, [s] if s["kind"] == "watch" else []
        raise ReportError(f"no scan with id {options.scan_id} in the store")
    since = options.since if options.since is not None else float("-inf")
    until = options.until if options.until is not None else float("inf")
    scan = next(  # scans are newest first
        (
            s
            for s in scans
            if s["kind"] == "scan" and s["status"] == "completed" and since <= s["started"] < until
        ),
        None,
    )
    after = scan["started"] if scan is not None else since
    sessions = [
        s
        for s in reversed(scans)
        if s["kind"] == "watch"
        and s["id"] in recorded
        and s["started"] < until
        and (s["finished"] is None or s["finished"] >= after)
    ]
    if scan is None and not sessions:
        when = " in the given period" if options.since is not None or options.until is not None else ""
        raise ReportError(
            f"no completed scan and no watch session that recorded files{when} in the store; "
            "run `dlpscan scan` or `dlpscan watch` first"
        )
    return (scan if scan is not None else sessions[-1]), sessions


def _policy(
    scan: dict, options: Options, types: EntityTypes, categories: Mapping[str, DataCategory]
) -> tuple[Policy, bool, tuple[str, dict] | None]:
    """(policy, re-evaluate files?, note for the scope section)."""
    recorded = {"name": scan["policy"], "version": scan["versions"]["policy"]}
    if options.policy is not None:
        try:
            policy = load_policy(options.policy, options.policy_dirs, types, categories)
        except PolicyError as exc:
            raise ReportError(str(exc)) from None
        same = policy.name == recorded["name"] and policy.version == recorded["version"]
        return policy, not same, None if same else ("scope.policy_reevaluated", recorded)
    try:
        policy = load_policy(scan["policy"], options.policy_dirs, types, categories)
    except PolicyError:
        try:
            policy = load_policy(options.fallback_policy, options.policy_dirs, types, categories)
        except PolicyError as exc:
            raise ReportError(str(exc)) from None
        return policy, False, ("scope.policy_fallback", {"name": scan["policy"], "used": policy.name})
    if policy.version != recorded["version"]:
        return policy, False, ("scope.policy_changed", recorded)
    return policy, False, None


def _versions(detector: str) -> dict[str, str]:
    """`scanner+recognisers+keyid` as written by ScanSettings.detector_version(); else shown whole."""
    parts = detector.split("+")
    if len(parts) >= 3:
        return {"scanner": parts[0], "recognisers": parts[1], "key_id": parts[2]}
    return {"scanner": detector, "recognisers": "", "key_id": ""}


def _row(
    result: FileResult,
    policy: Policy | None,
    grader: Grader,
    decision: dict | None,
    types: EntityTypes,
    categories: Mapping[str, DataCategory],
) -> FileRow:
    if policy is not None:
        flagged, severity, hits = evaluate(policy, result)
    else:
        flagged, severity, hits = result.flagged, result.severity, list(result.rules)
    risk, score = grade(severity, result.access.level if result.access else None)
    found = sorted(
        ((t, s.distinct, s.total) for t, s in result.entities.items()), key=lambda x: (-x[1], x[0])
    )
    distinct = {t: d for t, d, _ in found}
    fp_mark = decision is not None and decision["status"] == "false-positive" and decision["applies"]
    return FileRow(
        path=result.path,
        folder=folder_of(result.path),
        owner=result.owner,
        size=result.size,
        mtime=result.mtime,
        status=str(result.status),
        media_type=result.media_type,
        reason=result.reason or result.error,
        is_container=result.is_container,
        flagged=flagged,
        severity=severity,
        rules=hits,
        records=result.records,
        people=types.people(distinct),
        types=found,
        samples=pick_samples(result, MAX_SAMPLES, types),
        where=[(t, confidence(st), shown_locations(st)[:LOCATIONS]) for t, st in ranked_types(result, types)],
        grading=grader.file(result),
        notes=notes_for(
            distinct,
            types,
            result.notes,
            {t: m.noncompliant for t, m in result.masked.items()},
            _sensitive(result.categories, categories),
        ),
        triage=decision,
        false_positive=flagged and fp_mark,
        edm=(result.edm.high, result.edm.medium) if result.edm is not None else None,
        access=result.access,
        risk=risk,
        risk_score=score,
        stale=result.stale,
    )


def _keep(data: ReportData, row: FileRow) -> None:
    if row.finding:
        data.findings.append(row)
        data.severity_counts[row.severity] += 1
        data.remediation_counts[_remediation(row.triage)] += 1
        data.access_counts[row.level] += 1
    elif row.false_positive:
        data.false_positives.append(row)
    if row.status in GAP_STATUSES:
        data.gap_counts[(row.status, row.reason or "")] += 1
        if len(data.gaps) < GAP_ROWS:
            data.gaps.append(row)


def _exposed_folders(findings: list[FileRow]) -> list[ExposedFolder]:
    """Folders of findings, the most exposed first: widest access, then highest risk, then most files."""
    by_folder: dict[str, list[FileRow]] = {}
    for row in findings:
        by_folder.setdefault(row.folder, []).append(row)
    out = []
    for name, rows in by_folder.items():
        top = max(rows, key=lambda r: (rank(r.level), r.risk_score))
        riskiest = max(rows, key=lambda r: r.risk_score)
        principal = top.access.principal if top.access is not None else "–"
        out.append(ExposedFolder(name, top.level, principal, len(rows), riskiest.risk, riskiest.risk_score))
    return sorted(out, key=lambda f: (-rank(f.level), -f.risk_score, -f.findings, f.folder))


def _remediation(decision: dict | None) -> str:
    if decision is None:
        return "untriaged"
    return "fp_lapsed" if decision["status"] == "false-positive" else decision["status"]


def _most_severe_first(row: FileRow) -> tuple:
    return (-SEVERITY_ORDER.index(row.severity), -row.grading.total, -row.people, row.path)


def _sensitive(found: Iterable[str], categories: Mapping[str, DataCategory]) -> set[str]:
    """The PIPL Art. 28 kinds of the data categories found."""
    return {kind for name in found if name in categories and (kind := categories[name].sensitive)}


def _groups(
    store: Store,
    scan_id: int | list[int],
    by: str,
    policy: Policy,
    grader: Grader,
    flagged: Counter,
    categories: Mapping[str, DataCategory],
) -> list[GroupRow]:
    return [
        GroupRow(
            key=e.key,
            files=e.files,
            flagged=flagged[e.key],
            people=e.people,
            per_type=e.per_type,
            hits=evaluate_scope(
                policy, by, e.key, e.people, e.per_type, e.edm_rows, categories=e.category_counts()
            ),
            grading=grader.group(
                by, e.key, e.people, e.per_type, e.edm_rows, categories=e.category_counts(), basis=e.basis
            ),
            edm=(e.edm_rows, e.edm_high),
            notes=notes_for(e.per_type, store.types, sensitive_kinds=_sensitive(e.categories, categories)),
        )
        for e in store.exposure(by, scan_id)
    ]
