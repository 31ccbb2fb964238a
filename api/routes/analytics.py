"""Follow-up analytics: the compliance figures over a range of interview dates, overall, per team and per recruiter."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from api.deps import NO_NUL, CurrentRecruiter, Reads, team_scope
from api.errors import Problem
from api.schemas import (
    CheckInTimingsOut,
    ComplianceFiguresOut,
    ComplianceOut,
    OutcomeCountOut,
    RecruiterComplianceOut,
    TeamComplianceOut,
    problem_responses,
)
from projections.analytics import AnalyticsProjection
from projections.queries import (
    OVERALL,
    PER_RECRUITER,
    PER_TEAM,
    ComplianceFilters,
    compliance_check_ins,
    compliance_outcomes,
    compliance_thank_yous,
)

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

# A group's key: (level, owner_id, team); owner_id is None above the recruiter level, team above the team level.
GroupKey = tuple[int, UUID | None, str | None]


@router.get("/follow-up-compliance", response_model=ComplianceOut,
            responses=problem_responses(401, 404, 422, 503))
def follow_up_compliance(
    recruiter: CurrentRecruiter,
    reads: Reads,
    from_: Annotated[AwareDatetime, Query(alias="from", description="Interviews held at or after.")],
    to: Annotated[AwareDatetime, Query(description="Interviews held before.")],
    team: Annotated[str | None, Query(max_length=200, pattern=NO_NUL, description="Only this team.")] = None,
    recruiter_id: Annotated[UUID | None, Query(description="Only this recruiter's candidacies.")] = None,
) -> ComplianceOut:
    """Thank-you timeliness for the interviewer-rounds held in [from, to); check-in timing, the
    two-week guideline and outcomes for the candidacies whose latest round was held in it.
    Recruiters and analysts see their own team (another team is a 404); admins every team."""
    if from_ >= to:
        raise Problem(422, "from must be before to", errors=[{"field": "from", "message": "not before to"}],
                      type_="validation")
    scope = team_scope(recruiter)
    if team is not None and not scope.all_teams and team != scope.team:
        raise Problem(404, f"no team {team}")
    filters = ComplianceFilters(from_, to, scope, team=team, has_team=team is not None, recruiter_id=recruiter_id)
    with reads.caught_up([AnalyticsProjection.name]) as conn:
        thank_yous = compliance_thank_yous(conn, reads.schema, filters)
        check_ins = compliance_check_ins(conn, reads.schema, filters)
        outcomes = compliance_outcomes(conn, reads.schema, filters)

    figures = _figures(thank_yous, check_ins, outcomes)
    empty = _group_figures(None, None, [])
    return ComplianceOut(
        from_=from_, to=to,
        overall=figures.pop((OVERALL, None, None), empty),
        teams=[TeamComplianceOut(team=team_, **values.model_dump())
               for (level, _, team_), values in _sorted(figures) if level == PER_TEAM],
        recruiters=[RecruiterComplianceOut(recruiter_id=owner_id, team=team_, **values.model_dump())
                    for (level, owner_id, team_), values in _sorted(figures) if level == PER_RECRUITER],
    )


def _key(row: dict[str, Any]) -> GroupKey:
    return (row["level"], row["owner_id"], row["team"])


def _figures(thank_yous: list[dict[str, Any]], check_ins: list[dict[str, Any]],
             outcomes: list[dict[str, Any]]) -> dict[GroupKey, ComplianceFiguresOut]:
    """Each group's figures: a group appears in any of the three queries (a team may have
    interviews in the range and no candidacy whose latest round is in it, or the other way round)."""
    by_thank_yous = {_key(row): row for row in thank_yous}
    by_check_ins = {_key(row): row for row in check_ins}
    by_outcomes: dict[GroupKey, list[dict[str, Any]]] = {}
    for row in outcomes:
        by_outcomes.setdefault(_key(row), []).append(row)
    keys = by_thank_yous.keys() | by_check_ins.keys() | by_outcomes.keys()
    return {
        key: _group_figures(by_thank_yous.get(key), by_check_ins.get(key), by_outcomes.get(key, []))
        for key in keys
    }


def _group_figures(thank_yous: dict[str, Any] | None, check_ins: dict[str, Any] | None,
                   outcomes: list[dict[str, Any]]) -> ComplianceFiguresOut:
    owed = thank_yous["thank_yous_owed"] if thank_yous else 0
    on_time = thank_yous["thank_yous_on_time"] if thank_yous else 0
    timings = {name: check_ins[name] if check_ins else 0
               for name in ("early", "on_time", "late", "missing", "pending", "not_owed")}
    measured = check_ins["follow_ups_measured"] if check_ins else 0
    within_14_days = check_ins["followed_up_within_14_days"] if check_ins else 0
    return ComplianceFiguresOut(
        thank_yous_owed=owed,
        thank_yous_on_time=on_time,
        thank_yous_late=thank_yous["thank_yous_late"] if thank_yous else 0,
        thank_you_on_time_rate=on_time / owed if owed else None,
        median_hours_to_thank_you=thank_yous["median_hours_to_thank_you"] if thank_yous else None,
        check_ins=CheckInTimingsOut(**timings),
        follow_ups_measured=measured,
        followed_up_within_14_days=within_14_days,
        followed_up_within_14_days_share=within_14_days / measured if measured else None,
        outcomes=[OutcomeCountOut.model_validate(row) for row in outcomes],
    )


def _sorted(figures: dict[GroupKey, ComplianceFiguresOut]) -> list[tuple[GroupKey, ComplianceFiguresOut]]:
    # Teams by name (the team-less group first), recruiters by id within their team: a stable answer.
    return sorted(figures.items(), key=lambda pair: (pair[0][2] or "", pair[0][2] is not None, str(pair[0][1])))
