"""Point-in-time reports rebuilt from the log: the follow-up queue, compliance, the contact network and the audit trail."""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

from domain.application import FollowupApplication
from domain.policy import DEFAULT_POLICY, FollowUpPolicy
from domain.recruiter import Recruiter
from domain.rules import facts_occurred_by, follow_up_items, interview_items
from domain.values import FollowUpStatus, Outcome

# The analytics read model's own definitions, so that a report and the live tables never disagree.
from projections.analytics import (
    MISSING,
    CandidacyFact,
    CandidacyRow,
    InterviewFact,
    candidacy_fact,
    interview_facts,
)
from projections.replay import (
    COMPLIANCE_READS,
    FOLLOW_UPS_READS,
    NETWORK_READS,
    Progress,
    Replay,
    ReplayedCandidacy,
    ReportScope,
    read_log,
    replay,
)

REPORT_NAMES = ("follow-ups", "compliance", "network", "audit")
OPEN_STATUSES = (FollowUpStatus.UPCOMING, FollowUpStatus.DUE, FollowUpStatus.OVERDUE)
# Sorts a check-in (no contact) before any contact's item, as the live queue does.
NO_CONTACT = UUID(int=0)
# The contact network's strength halves every this many days without a touch (its SQL function's number).
STRENGTH_HALF_LIFE_DAYS = 90.0
# The check-in histogram's buckets: days early or late beyond this are counted at the edge.
CHECK_IN_HISTOGRAM_DAYS = 14
# Fields of events shown in the audit trail's details: facts, never personal data
# (an erasure's reason is written not to contain any: docs/privacy.md).
AUDIT_DETAIL_FIELDS = (
    "reason", "kind", "channel", "contact_id", "interviewer_ids", "format", "held_at", "sent_at", "decide_by", "stated_at",
    "outcome", "connected_at", "company", "position", "role", "team", "candidate_id", "owner_id",
)


class UnknownReport(ValueError):
    pass


@dataclass
class Report:
    """A report's rows and figures, with the two moments it answers for."""

    name: str
    as_of: datetime | None
    known_at: datetime
    scope: ReportScope
    position: int  # the last log position the replay read
    columns: list[str]
    rows: list[dict[str, Any]]
    figures: dict[str, Any] = field(default_factory=dict)
    sections: dict[str, Any] = field(default_factory=dict)  # further tables and series (JSON and HTML)

    def to_json(self) -> dict[str, Any]:
        return plain({
            "report": self.name,
            "as_of": self.as_of,
            "known_at": self.known_at,
            "scope": {"team": None if self.scope.all_teams else self.scope.team,
                      "recruiter_id": self.scope.recruiter_id},
            "position": self.position,
            "figures": self.figures,
            "columns": self.columns,
            "rows": self.rows,
            **self.sections,
        })

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([csv_cell(row.get(column)) for column in self.columns])
        return out.getvalue()


@dataclass(frozen=True)
class AuditFilters:
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None
    actor_id: UUID | None = None
    event_type: str | None = None
    stream_id: UUID | None = None


def build_report(
    app: FollowupApplication,
    name: str,
    *,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
    scope: ReportScope | None = None,
    policy: FollowUpPolicy = DEFAULT_POLICY,
    include_done: bool = False,
    audit: AuditFilters | None = None,
    progress: Progress | None = None,
) -> Report:
    """The named report, replayed from the log as known at known_at (default now) and evaluated at as_of (default now)."""
    now = datetime.now(UTC)
    known_at = known_at or now
    scope = scope or ReportScope()
    if name == "audit":
        return audit_report(app, known_at=known_at, filters=audit or AuditFilters(), progress=progress)
    if name not in REPORT_NAMES:
        raise UnknownReport(f"no report {name!r}: one of {', '.join(REPORT_NAMES)}")
    reads = {"follow-ups": FOLLOW_UPS_READS, "compliance": COMPLIANCE_READS, "network": NETWORK_READS}[name]
    state = replay(app, as_of=as_of or now, known_at=known_at, scope=scope, reads=reads, progress=progress)
    if name == "follow-ups":
        return follow_ups_report(state, policy, include_done=include_done)
    if name == "compliance":
        return compliance_report(state, policy)
    return network_report(state, policy)


# The follow-up queue.

FOLLOW_UP_COLUMNS = [
    "status", "kind", "due_from", "due_by", "candidacy_id", "candidate_id", "candidate", "contact_id", "contact",
    "owner_id", "owner", "team", "flags", "done_at", "reason",
]


def follow_ups_report(state: Replay, policy: FollowUpPolicy = DEFAULT_POLICY, *, include_done: bool = False) -> Report:
    """Every open item (and the done ones, if asked) as the queue stood at as_of, as known at known_at."""
    contacts = state.contact_facts()
    rows = []
    for candidacy in state.candidacies.values():
        for item in follow_up_items(candidacy.facts(), state.as_of, contacts=contacts, policy=policy):
            if item.status not in OPEN_STATUSES and not include_done:
                continue
            contact = state.contacts.get(item.contact_id) if item.contact_id is not None else None
            rows.append({
                "status": item.status.value, "kind": item.kind.value, "due_from": item.due_from,
                "due_by": item.due_by, "candidacy_id": item.candidacy_id, "candidate_id": item.candidate_id,
                "candidate": state.candidate_names.get(item.candidate_id), "contact_id": item.contact_id,
                "contact": contact.name if contact is not None else None, "owner_id": candidacy.owner_id,
                "owner": state.recruiter_name(candidacy.owner_id), "team": candidacy.team,
                "flags": list(item.flags), "done_at": item.done_at, "reason": item.reason,
                "opened_at": item.opened_at,
            })
    rows.sort(key=lambda r: (r["due_by"].astimezone(UTC), str(r["candidacy_id"]), r["kind"],
                             str(r["contact_id"] or NO_CONTACT), r["opened_at"].astimezone(UTC)))
    by_status = Counter(row["status"] for row in rows)
    overdue: Counter[tuple[UUID, str | None]] = Counter(
        (row["owner_id"], row["team"]) for row in rows if row["status"] == FollowUpStatus.OVERDUE.value
    )
    return Report(
        name="follow-ups", as_of=state.as_of, known_at=state.known_at, scope=state.scope, position=state.position,
        columns=FOLLOW_UP_COLUMNS, rows=rows,
        figures={
            "open_items": sum(by_status[s.value] for s in OPEN_STATUSES),
            **{status.value: by_status[status.value] for status in OPEN_STATUSES},
            **({"done": by_status[FollowUpStatus.DONE.value]} if include_done else {}),
        },
        sections={"overdue_by_recruiter": [
            {"owner_id": owner_id, "owner": state.recruiter_name(owner_id), "team": team, "overdue": count}
            for (owner_id, team), count in sorted(overdue.items(), key=lambda kv: (-kv[1], str(kv[0][0])))
        ]},
    )


# Compliance: the analytics read model's figures, at as_of.

COMPLIANCE_COLUMNS = [
    "level", "team", "owner_id", "owner", "thank_yous_owed", "thank_yous_on_time", "thank_yous_late",
    "thank_you_on_time_rate", "median_hours_to_thank_you", "check_ins_early", "check_ins_on_time",
    "check_ins_late", "check_ins_missing", "check_ins_pending", "check_ins_not_owed", "follow_ups_measured",
    "followed_up_within_14_days", "followed_up_within_14_days_share",
]


def candidacy_compliance(
    candidacy: ReplayedCandidacy, as_of: datetime, policy: FollowUpPolicy = DEFAULT_POLICY
) -> tuple[CandidacyFact, list[InterviewFact]]:
    """The candidacy's rows of the analytics read model as the facts that had occurred by as_of give
    them: the rules' thank-you and check-in items, through the read model's own row builders."""
    facts = facts_occurred_by(candidacy.facts(), as_of)
    row = CandidacyRow(facts, candidacy.owner_id, candidacy.team, candidacy.company)
    items = interview_items(facts, as_of, policy=policy)
    return candidacy_fact(row, items, policy), interview_facts(row, items)


def check_in_timing(fact: CandidacyFact, as_of: datetime) -> str | None:
    """The analytics_check_ins view's timing: the stored one, else missing or pending against as_of."""
    if fact.check_in_timing is not None:
        return fact.check_in_timing
    if fact.latest_round_held_at is None:
        return None
    assert fact.check_in_due_by is not None
    return MISSING if fact.check_in_due_by < as_of else "pending"


class ComplianceTally:
    """The figures of the analytics summary views for one group (the agency, a team, a recruiter),
    counted candidacy by candidacy: only the thank-you hours are kept, for the median."""

    def __init__(self) -> None:
        self.candidacies = 0
        self.thank_yous_owed = 0
        self.thank_yous_on_time = 0
        self.thank_yous_late = 0
        self.hours: list[float] = []
        self.timings: Counter[str | None] = Counter()
        self.follow_ups_measured = 0
        self.followed_up_within_14_days = 0

    def add(self, owed: int, on_time: int, late: int, hours: list[float], timing: str | None, measured: bool,
            within: bool) -> None:
        self.candidacies += 1
        self.thank_yous_owed += owed
        self.thank_yous_on_time += on_time
        self.thank_yous_late += late
        self.hours += hours
        self.timings[timing] += 1
        self.follow_ups_measured += measured
        self.followed_up_within_14_days += within

    def figures(self) -> dict[str, Any]:
        owed, on_time = self.thank_yous_owed, self.thank_yous_on_time
        measured, within = self.follow_ups_measured, self.followed_up_within_14_days
        return {
            "thank_yous_owed": owed,
            "thank_yous_on_time": on_time,
            "thank_yous_late": self.thank_yous_late,
            "thank_you_on_time_rate": on_time / owed if owed else None,
            "median_hours_to_thank_you": statistics.median(self.hours) if self.hours else None,
            **{f"check_ins_{timing}": self.timings[timing]
               for timing in ("early", "on_time", "late", "missing", "pending", "not_owed")},
            "follow_ups_measured": measured,
            "followed_up_within_14_days": within,
            "followed_up_within_14_days_share": within / measured if measured else None,
        }


def compliance_report(state: Replay, policy: FollowUpPolicy = DEFAULT_POLICY) -> Report:
    """Thank-you timeliness, check-in timing, the two-week guideline and outcomes, per team and per recruiter."""
    as_of = state.as_of
    two_weeks_ago = as_of - timedelta(days=policy.follow_up_within_days)
    overall = ComplianceTally()
    by_team: dict[str | None, ComplianceTally] = defaultdict(ComplianceTally)
    by_recruiter: dict[tuple[UUID, str | None], ComplianceTally] = defaultdict(ComplianceTally)
    interviewer_rounds = 0
    outcomes: Counter[tuple[str | None, UUID, str, bool]] = Counter()
    weekly_owed: Counter[date] = Counter()
    weekly_on_time: Counter[date] = Counter()
    histogram: Counter[int] = Counter()
    # Each candidacy is evaluated once and counted into its groups, then let go: the report holds
    # counts, not 100,000s of rows.
    for candidacy in state.candidacies.values():
        fact, interviews = candidacy_compliance(candidacy, as_of, policy)
        interviewer_rounds += len(interviews)
        owed = on_time = late = 0
        hours = []
        for interview in interviews:
            if interview.thank_you_sent_at is None and interview.due_by >= as_of:
                continue  # not owed yet
            owed += 1
            if interview.on_time is not None:
                on_time += interview.on_time
                late += not interview.on_time
                hours.append(interview.hours_to_thank_you)
            # The weekly trend: weeks of the interview, starting on Monday (UTC).
            held = interview.held_at.astimezone(UTC).date()
            week = held - timedelta(days=held.weekday())
            weekly_owed[week] += 1
            weekly_on_time[week] += interview.on_time is True
        followed_up = fact.followed_up_within_14_days
        measured = bool(followed_up) or (followed_up is not None and fact.latest_round_held_at is not None
                                         and fact.latest_round_held_at < two_weeks_ago)
        counts = (owed, on_time, late, hours, check_in_timing(fact, as_of), measured, bool(followed_up))
        overall.add(*counts)
        by_team[candidacy.team].add(*counts)
        by_recruiter[(candidacy.owner_id, candidacy.team)].add(*counts)
        if fact.outcome is not None:
            outcomes[(candidacy.team, candidacy.owner_id, fact.outcome, fact.thank_you_within_24h)] += 1
        offset = _days_from_window(fact)
        if offset is not None:
            histogram[offset] += 1

    rows = [
        {"level": "team", "team": team, "owner_id": None, "owner": None, **by_team[team].figures()}
        for team in sorted(by_team, key=lambda t: (t is None, t or ""))
    ] + [
        {"level": "recruiter", "team": team, "owner_id": owner_id, "owner": state.recruiter_name(owner_id),
         **by_recruiter[(owner_id, team)].figures()}
        for owner_id, team in sorted(by_recruiter, key=lambda k: (k[1] is None, k[1] or "", str(k[0])))
    ]
    return Report(
        name="compliance", as_of=as_of, known_at=state.known_at, scope=state.scope, position=state.position,
        columns=COMPLIANCE_COLUMNS, rows=rows,
        figures={"candidacies": overall.candidacies, "interviewer_rounds": interviewer_rounds, **overall.figures()},
        sections={
            "outcomes": _outcomes(outcomes),
            "outcome_rates": _outcome_rates(outcomes),
            "weekly_thank_you_on_time": [
                {"week": week, "owed": weekly_owed[week], "on_time": weekly_on_time[week],
                 "rate": weekly_on_time[week] / weekly_owed[week]}
                for week in sorted(weekly_owed)
            ],
            "check_in_histogram": [{"days_from_window": offset, "check_ins": histogram[offset]}
                                   for offset in sorted(histogram)],
        },
    )


def _outcomes(counts: Counter[tuple[str | None, UUID, str, bool]]) -> list[dict[str, Any]]:
    """Candidacies with an outcome, by team, recruiter, outcome and whether a thank-you went out within 24 hours."""
    return [
        {"team": team, "owner_id": owner_id, "outcome": outcome, "thank_you_within_24h": within,
         "candidacies": count}
        for (team, owner_id, outcome, within), count in sorted(
            counts.items(), key=lambda kv: (kv[0][0] or "", str(kv[0][1]), kv[0][2], kv[0][3])
        )
    ]


def _outcome_rates(counts: Counter[tuple[str | None, UUID, str, bool]]) -> list[dict[str, Any]]:
    """Each outcome's share, among candidacies with and without a thank-you within 24 hours."""
    rates = []
    for within in (True, False):
        by_outcome: Counter[str] = Counter()
        for (_team, _owner_id, outcome, answered), count in counts.items():
            if answered is within:
                by_outcome[outcome] += count
        group = sum(by_outcome.values())
        rates.append({
            "thank_you_within_24h": within, "candidacies": group,
            **{outcome.value: (by_outcome[outcome.value] / group if group else None) for outcome in Outcome},
        })
    return rates


def _days_from_window(fact: CandidacyFact) -> int | None:
    """The check-in histogram's bucket: days before the window opened (negative), inside it (0) or
    after it closed (positive), counted at the edges beyond CHECK_IN_HISTOGRAM_DAYS."""
    sent_at = fact.check_in_sent_at
    if sent_at is None or fact.check_in_due_from is None or fact.check_in_due_by is None:
        return None
    if sent_at < fact.check_in_due_from:
        offset = -math.ceil((fact.check_in_due_from - sent_at) / timedelta(days=1))
    elif sent_at > fact.check_in_due_by:
        offset = math.ceil((sent_at - fact.check_in_due_by) / timedelta(days=1))
    else:
        offset = 0
    return max(-CHECK_IN_HISTOGRAM_DAYS, min(CHECK_IN_HISTOGRAM_DAYS, offset))


# The contact network.

NETWORK_COLUMNS = ["company", "contacts", "warm", "cold", "touches", "last_touch_at", "strength"]


def strength(touches: int, last_touch_at: datetime | None, as_of: datetime) -> float:
    """The contact network's strength (see projections.contact_network), at as_of."""
    if touches <= 0 or last_touch_at is None:
        return 0.0
    days = max(0.0, (as_of - last_touch_at) / timedelta(days=1))
    return (1 - math.exp(-touches / 3.0)) * 0.5 ** (days / STRENGTH_HALF_LIFE_DAYS)


def network_report(state: Replay, policy: FollowUpPolicy = DEFAULT_POLICY) -> Report:
    """Contacts per company, warm (touched within the stay-in-touch period) or cold, and touches per month."""
    as_of = state.as_of
    warm_since = as_of - timedelta(days=policy.stay_in_touch_days)
    whole_agency = state.scope.all_teams and state.scope.recruiter_id is None
    contacts = []
    for contact_id, contact in state.contacts.items():
        # A team's network is the contacts it has been in touch with; the agency's, every contact.
        if contact.company is None or (not whole_agency and contact.touches == 0):
            continue
        last = contact.scope_last_touch_at
        contacts.append({
            "contact_id": contact_id, "name": contact.name, "company": contact.company, "title": contact.title,
            "touches": contact.touches, "first_touch_at": contact.first_touch_at, "last_touch_at": last,
            # An erased contact is owed no stay-in-touch message.
            "next_touch_due": (last + timedelta(days=policy.stay_in_touch_days)
                               if last is not None and (contact.erased_at is None or contact.erased_at > as_of)
                               else None),
            "linkedin_connected_at": (contact.linkedin_connected_at
                                      if contact.linkedin_connected_at is not None
                                      and contact.linkedin_connected_at <= as_of else None),
            "strength": strength(contact.touches, last, as_of),
            "warm": last is not None and last >= warm_since,
        })
    contacts.sort(key=lambda c: (c["company"], -c["strength"], str(c["contact_id"])))
    companies: dict[str, dict[str, Any]] = {}
    for contact in contacts:
        company = companies.setdefault(contact["company"], {
            "company": contact["company"], "contacts": 0, "warm": 0, "cold": 0, "touches": 0, "last_touch_at": None,
        })
        company["contacts"] += 1
        company["warm" if contact["warm"] else "cold"] += 1
        company["touches"] += contact["touches"]
        if contact["last_touch_at"] is not None and (
            company["last_touch_at"] is None or contact["last_touch_at"] > company["last_touch_at"]
        ):
            company["last_touch_at"] = contact["last_touch_at"]
    rows = sorted(companies.values(), key=lambda c: (-c["contacts"], c["company"]))
    for company in rows:
        company["strength"] = strength(company["touches"], company["last_touch_at"], as_of)
    return Report(
        name="network", as_of=as_of, known_at=state.known_at, scope=state.scope, position=state.position,
        columns=NETWORK_COLUMNS, rows=rows,
        figures={
            "companies": len(rows), "contacts": len(contacts),
            "warm_contacts": sum(1 for c in contacts if c["warm"]),
            "cold_contacts": sum(1 for c in contacts if not c["warm"]),
            "touches": sum(c["touches"] for c in contacts),
            "warm_after_days": policy.stay_in_touch_days,
        },
        sections={
            "contacts": contacts,
            "touches_per_month": [{"month": month, "touches": count}
                                  for month, count in sorted(state.touches_by_month.items())],
        },
    )


# The audit trail.

AUDIT_COLUMNS = [
    "position", "recorded_at", "occurred_at", "event_type", "aggregate_type", "stream", "version", "actor_id",
    "actor", "correlation_id", "details",
]


def audit_report(
    app: FollowupApplication, *, known_at: datetime, filters: AuditFilters, progress: Progress | None = None
) -> Report:
    """Every event recorded in the range, filtered, with both time axes, its position, actor and correlation id."""
    until = min(known_at, filters.recorded_to) if filters.recorded_to is not None else known_at
    recruiters: dict[UUID, str] = {}
    rows = []
    position = 0
    for position, event in read_log(app, known_at=until, progress=progress):
        if isinstance(event, Recruiter.Added):
            recruiters[event.originator_id] = event.name
        if filters.recorded_from is not None and event.timestamp < filters.recorded_from:
            continue
        event_type = type(event).__name__
        actor_id = getattr(event, "actor_id", None)
        if filters.event_type is not None and event_type != filters.event_type:
            continue
        if filters.actor_id is not None and actor_id != filters.actor_id:
            continue
        if filters.stream_id is not None and event.originator_id != filters.stream_id:
            continue
        rows.append({
            "position": position, "recorded_at": event.timestamp, "occurred_at": getattr(event, "occurred_at", None),
            "event_type": event_type, "aggregate_type": type(event).__qualname__.split(".")[0],
            "stream": event.originator_id, "version": event.originator_version, "actor_id": actor_id,
            "actor": recruiters.get(actor_id) if actor_id is not None else None,
            "correlation_id": getattr(event, "correlation_id", None), "details": _details(event),
        })
    return Report(
        name="audit", as_of=None, known_at=until, scope=ReportScope(), position=position,
        columns=AUDIT_COLUMNS, rows=rows,
        figures={"events": len(rows), **{f"events_{kind}": n for kind, n in
                                          sorted(Counter(r["event_type"] for r in rows).items())}},
        sections={"filters": {
            "recorded_from": filters.recorded_from, "recorded_to": filters.recorded_to,
            "actor_id": filters.actor_id, "event_type": filters.event_type, "stream": filters.stream_id,
        }},
    )


def _details(event: Any) -> str:
    parts = []
    for name in AUDIT_DETAIL_FIELDS:
        value = getattr(event, name, None)
        if value is not None:
            parts.append(f"{name}={csv_cell(plain(value))}")
    return " ".join(parts)


# Plain values for JSON and CSV.


def plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def csv_cell(value: Any) -> Any:
    value = plain(value)
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if value is None:
        return ""
    return value
