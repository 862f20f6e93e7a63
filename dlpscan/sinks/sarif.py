"""SARIF 2.1.0 for code-scanning dashboards (GitHub code scanning, DefectDojo, Azure DevOps …).

One result per flagged file (archive members too), under the policy rule that set its severity; files
that could not be read are tool notifications. Counts, masked samples and locations only: never a raw
value, never a fingerprint. The document is written when the scan ends.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from dlpscan import __version__
from dlpscan.entities import EntityTypes
from dlpscan.findings import confidence, pick_samples, ranked_types, shown_locations
from dlpscan.model import FileResult, RuleHit, Status
from dlpscan.policy import Policy
from dlpscan.sinks.report_line import exposure

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
MEMBER_SEP = "!"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub code scanning reads `security-severity` (0-10): 9+ critical, 7+ high, 4+ medium, below low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
NOT_READ = (Status.ENCRYPTED, Status.ERROR, Status.SKIPPED, Status.PARTIAL)
_LINE = re.compile(r"line (\d+)")  # a text file's line: the only location SARIF can point into


class SarifWriter:
    """Collects results while the scan runs; `close(ok)` writes the SARIF log to `stream`.

    `baseline_state(result)`, when given, says `new` or `updated` for SARIF's baselineState.
    """

    def __init__(self, stream: IO[str], types: EntityTypes, policy: Policy, baseline_state=None) -> None:
        self._stream, self._types, self._policy = stream, types, policy
        self._baseline_state = baseline_state
        self._rules: dict[str, int] = {}
        self._rule_list: list[dict[str, Any]] = []
        self._results: list[dict[str, Any]] = []
        self._notifications: list[dict[str, Any]] = []

    def write(self, result: FileResult) -> None:
        if result.status in NOT_READ:
            self._notifications.append(
                {
                    "level": "warning",
                    "message": {"text": f"{result.status}: {result.reason or result.error or 'not read'}"},
                    "locations": [_location(result.path)],
                }
            )
        if not result.flagged or result.is_container:
            return
        hit = _deciding(result)
        entry: dict[str, Any] = {
            "ruleId": self._rule_id(hit),
            "ruleIndex": self._rules[self._rule_id(hit)],
            "level": LEVELS.get(result.severity, "note"),
            "message": {"text": self._message(result)},
            "locations": [_location(result.path, _first_line(result))],
            "partialFingerprints": {"dlpscanPath/v1": hashlib.sha256(result.path.encode()).hexdigest()[:32]},
            "properties": {
                "severity": result.severity,
                "people": self._types.people({t: s.distinct for t, s in result.entities.items()}),
                "records": result.records,
                "rules": [h.rule for h in result.rules],
                "entities": {
                    t: {"distinct": s.distinct, "total": s.total, "confidence": confidence(s)}
                    | ({"locations": locs} if (locs := shown_locations(s)) else {})
                    for t, s in result.entities.items()
                },
            },
        }
        entry["properties"] |= {"risk": result.risk, "riskScore": result.risk_score, "stale": result.stale}
        if result.access is not None:
            entry["properties"]["exposure"] = exposure(result.access)
        if MEMBER_SEP in result.path:
            entry["properties"]["member"] = result.path.split(MEMBER_SEP, 1)[1]
        if self._baseline_state is not None:
            entry["baselineState"] = self._baseline_state(result)
        self._results.append(entry)

    def _rule_id(self, hit: RuleHit) -> str:
        rule_id = f"{hit.policy}/{hit.rule}"
        if rule_id not in self._rules:
            described = next((r for r in self._policy.rules if r.name == hit.rule), None)
            text = (described.description if described is not None else "") or hit.rule
            self._rules[rule_id] = len(self._rule_list)
            self._rule_list.append(
                {
                    "id": rule_id,
                    "name": hit.rule,
                    "shortDescription": {"text": text.splitlines()[0]},
                    "fullDescription": {"text": text},
                    "defaultConfiguration": {"level": LEVELS.get(hit.severity, "note")},
                    "properties": {
                        "security-severity": SECURITY_SEVERITY.get(hit.severity, "1.0"),
                        "tags": ["security", "privacy", "personal-data"],
                    },
                }
            )
        return rule_id

    def _message(self, result: FileResult) -> str:
        ranked = ranked_types(result, self._types)
        found = ", ".join(f"{t} {s.distinct:,} ({confidence(s)} confidence)" for t, s in ranked)
        samples = ", ".join(s for _, s in pick_samples(result, 2, self._types))
        people = self._types.people({t: s.distinct for t, s in result.entities.items()})
        where = f" in {result.path.split(MEMBER_SEP, 1)[1]}" if MEMBER_SEP in result.path else ""
        text = f"Bulk personal data{where}: {people:,} people, {result.records:,} records; {found}."
        return text + (f" Masked samples: {samples}." if samples else "")

    def close(self, ok: bool = True) -> None:
        run: dict[str, Any] = {
            "tool": {
                "driver": {
                    "name": "dlpscan",
                    "version": __version__,
                    "semanticVersion": __version__,
                    "rules": self._rule_list,
                    "properties": {"policy": self._policy.name, "policyVersion": self._policy.version},
                }
            },
            "originalUriBaseIds": {SRCROOT: {"uri": Path.cwd().as_uri() + "/"}},
            "invocations": [{"executionSuccessful": ok, "toolExecutionNotifications": self._notifications}],
            "results": self._results,
            "columnKind": "unicodeCodePoints",
        }
        document = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
        self._stream.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        self._stream.flush()


def _deciding(result: FileResult) -> RuleHit:
    """The first rule at the file's severity (the one that decided it)."""
    fallback = result.rules[0] if result.rules else RuleHit("dlpscan", "flagged", result.severity)
    return next((r for r in result.rules if r.severity == result.severity), fallback)


def _first_line(result: FileResult) -> int | None:
    """The first `line N` location of a file on disk (not of an archive member, not of a page)."""
    if MEMBER_SEP in result.path:
        return None
    lines = [
        int(m.group(1))
        for s in result.entities.values()
        for loc in shown_locations(s)
        if (m := _LINE.fullmatch(loc))
    ]
    return min(lines, default=None)


def _location(path: str, line: int | None = None) -> dict[str, Any]:
    """The file on disk (for an archive member: the archive), relative to %SRCROOT% when relative."""
    physical = path.split(MEMBER_SEP, 1)[0]
    if physical.startswith("/"):
        artifact: dict[str, Any] = {"uri": "file://" + quote(physical)}
    else:
        artifact = {"uri": quote(physical), "uriBaseId": SRCROOT}
    location: dict[str, Any] = {"artifactLocation": artifact}
    if line is not None and line >= 1:
        location["region"] = {"startLine": line}
    return {"physicalLocation": location}
