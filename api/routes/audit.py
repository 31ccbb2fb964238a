"""The audit trail: who did what and when, from the audit index, in log order (admins and analysts)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from api.deps import NO_NUL, CurrentRecruiter, Page, Reads, encode_cursor, invalid_cursor
from api.errors import Problem
from api.schemas import AuditEventOut, AuditPage, problem_responses
from domain.recruiter import Recruiter
from domain.values import Role
from projections.audit import AuditProjection
from projections.queries import AuditFilters, audit_events_page

router = APIRouter(prefix="/v1/audit", tags=["audit"])


def auditor(recruiter: CurrentRecruiter) -> Recruiter:
    # Every team's events are in the trail, so recruiters, who see their own team only, may not read it.
    if recruiter.role not in (Role.ADMIN, Role.ANALYST):
        raise Problem(403, "only an admin or an analyst may read the audit trail")
    return recruiter


@router.get("", response_model=AuditPage, responses=problem_responses(401, 403, 422, 503))
def list_audit_events(
    recruiter: Annotated[Recruiter, Depends(auditor)],
    reads: Reads,
    page: Page,
    actor_id: Annotated[UUID | None, Query(description="Only the events this recruiter's requests made.")] = None,
    from_: Annotated[AwareDatetime | None, Query(alias="from", description="Recorded at or after.")] = None,
    to: Annotated[AwareDatetime | None, Query(description="Recorded before.")] = None,
    type_: Annotated[str | None, Query(alias="type", max_length=100, pattern=NO_NUL,
                                       description="The event type, e.g. `Interview`.")] = None,
    stream: Annotated[UUID | None, Query(description="Only this aggregate's events.")] = None,
) -> AuditPage:
    """Events by log position, filtered by actor, recorded time, type and stream."""
    filters = AuditFilters(actor_id, from_, to, type_, stream)
    after = _decode_position(page.after)
    with reads.caught_up([AuditProjection.name]) as conn:
        rows = audit_events_page(conn, reads.schema, filters=filters, after=after, limit=page.limit + 1)
    items = [AuditEventOut.model_validate(row) for row in rows[: page.limit]]
    next_cursor = encode_cursor([rows[page.limit - 1]["position"]]) if len(rows) > page.limit else None
    return AuditPage(items=items, next_cursor=next_cursor)


def _decode_position(after: list[object] | None) -> int | None:
    if after is None:
        return None
    if len(after) != 1 or not isinstance(after[0], int) or isinstance(after[0], bool) or not 0 <= after[0] < 2**63:
        raise invalid_cursor()
    return after[0]
