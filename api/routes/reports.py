"""Reports rebuilt from the event log: the queue, compliance and the network as known at one moment, and the audit trail."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime

from api.deps import AppSettings, Application, CurrentRecruiter, team_scope
from api.errors import Problem
from api.schemas import LIST_ERRORS
from domain.values import Role
from projections.replay import ReportScope
from projections.reports import REPORT_NAMES, AuditFilters, build_report

router = APIRouter(prefix="/v1/reports", tags=["reports"])


class ReportName(str, Enum):
    FOLLOW_UPS = "follow-ups"
    COMPLIANCE = "compliance"
    NETWORK = "network"
    AUDIT = "audit"


class ReportFormat(str, Enum):
    JSON = "json"
    CSV = "csv"


assert {name.value for name in ReportName} == set(REPORT_NAMES)


@router.get("/{name}", responses={200: {"content": {"text/csv": {}}}, **LIST_ERRORS})
def get_report(
    name: ReportName,
    recruiter: CurrentRecruiter,
    application: Application,
    settings: AppSettings,
    as_of: Annotated[AwareDatetime | None, Query(description="Evaluate at this instant (default now).")] = None,
    known_at: Annotated[AwareDatetime | None, Query(
        description="Use only what had been recorded by this instant (default now).")] = None,
    team: Annotated[str | None, Query(max_length=200, description="Admins: one team's report.")] = None,
    recruiter_id: Annotated[UUID | None, Query(description="Only this recruiter's candidacies.")] = None,
    include_done: Annotated[bool, Query(description="follow-ups: the done items too.")] = False,
    recorded_from: Annotated[AwareDatetime | None, Query(alias="from", description="audit: recorded from.")] = None,
    recorded_to: Annotated[AwareDatetime | None, Query(alias="to", description="audit: recorded up to.")] = None,
    actor_id: Annotated[UUID | None, Query(description="audit: only this actor's events.")] = None,
    type: Annotated[str | None, Query(max_length=100, description="audit: only this event type.")] = None,
    stream_id: Annotated[UUID | None, Query(description="audit: only this candidacy's (or stream's) events.")] = None,
    format: ReportFormat = ReportFormat.JSON,
) -> Response:
    """The report replayed from the log as known at `known_at` and evaluated at `as_of`.
    Recruiters and analysts get their own team's; the audit trail is for admins and analysts."""
    if name is ReportName.AUDIT and recruiter.role not in (Role.ADMIN, Role.ANALYST):
        raise Problem(403, "the audit report is for admins and analysts")
    visible = team_scope(recruiter)
    if visible.all_teams:
        scope = ReportScope(all_teams=team is None, team=team, recruiter_id=recruiter_id)
    else:
        if team is not None and team != visible.team:
            raise Problem(403, "you can see only your own team's reports")
        scope = ReportScope(all_teams=False, team=visible.team, recruiter_id=recruiter_id)
    if name is ReportName.AUDIT and not visible.all_teams:
        # The audit trail spans every team: an analyst sees it whole, as on GET /v1/audit.
        scope = ReportScope()
    built = build_report(
        application, name.value, as_of=as_of or application.clock(), known_at=known_at, scope=scope,
        policy=settings.policy(), include_done=include_done,
        audit=AuditFilters(recorded_from, recorded_to, actor_id, type, stream_id),
    )
    if format is ReportFormat.CSV:
        return Response(built.to_csv(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name.value}.csv"'})
    body: dict[str, Any] = built.to_json()
    return JSONResponse(body)
