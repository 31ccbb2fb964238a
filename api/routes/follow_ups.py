"""The follow-up queue: what is owed, to whom, by when and why, for the caller's team."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from api.deps import AppSettings, CurrentRecruiter, Page, Reads, encode_cursor, invalid_cursor, team_scope
from api.schemas import LIST_ERRORS, FollowUpOut, FollowUpPage
from domain.values import FollowUpKind, FollowUpStatus
from projections.follow_up_queue import FollowUpQueueProjection
from projections.queries import ItemFilters, ItemKey, follow_up_items_as_of, follow_up_items_page, item_key

router = APIRouter(prefix="/v1/follow-ups", tags=["follow-ups"])

OPEN_STATUSES = (FollowUpStatus.UPCOMING, FollowUpStatus.DUE, FollowUpStatus.OVERDUE)


@router.get("", response_model=FollowUpPage, responses=LIST_ERRORS)
def list_follow_ups(
    recruiter: CurrentRecruiter,
    reads: Reads,
    page: Page,
    settings: AppSettings,
    candidacy_id: UUID | None = None,
    candidate_id: UUID | None = None,
    owner_id: UUID | None = None,
    kind: FollowUpKind | None = None,
    status: Annotated[list[FollowUpStatus] | None, Query(description="Default: the open ones.")] = None,
    as_of: Annotated[AwareDatetime | None, Query(description="Evaluate the queue at this instant.")] = None,
) -> FollowUpPage:
    """Items by due_by. Without as_of, statuses are as of now; with it, as the facts stood then."""
    filters = ItemFilters(candidacy_id, candidate_id, owner_id, kind.value if kind else None)
    statuses = [s.value for s in (status or OPEN_STATUSES)]
    after = _decode_key(page.after)
    with reads.caught_up([FollowUpQueueProjection.name]) as conn:
        if as_of is None:
            rows = follow_up_items_page(
                conn, reads.schema, now=reads.application.clock(), scope=team_scope(recruiter), filters=filters,
                statuses=statuses, after=after, limit=page.limit + 1,
            )
        else:
            rows = follow_up_items_as_of(
                conn, reads.schema, as_of=as_of, scope=team_scope(recruiter), filters=filters, statuses=statuses,
                after=after, limit=page.limit + 1, policy=settings.policy(),
            )
    items = [FollowUpOut.model_validate(row) for row in rows[: page.limit]]
    next_cursor = encode_cursor(item_key(rows[page.limit - 1])) if len(rows) > page.limit else None
    return FollowUpPage(items=items, next_cursor=next_cursor)


def _decode_key(after: list[object] | None) -> ItemKey | None:
    if after is None:
        return None
    try:
        due_by, candidacy_id, kind, contact_id, opened_at = after
        return (datetime.fromisoformat(str(due_by)), UUID(str(candidacy_id)), str(kind), UUID(str(contact_id)),
                datetime.fromisoformat(str(opened_at)))
    except (TypeError, ValueError):
        raise invalid_cursor() from None
