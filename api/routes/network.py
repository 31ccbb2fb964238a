"""The contact network: employer contacts and companies, with touches and strength (shared by every team)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import NO_NUL, CurrentRecruiter, Page, Reads, encode_cursor, invalid_cursor
from api.schemas import (
    NetworkCompanyOut,
    NetworkCompanyPage,
    NetworkContactOut,
    NetworkContactPage,
    problem_responses,
)
from projections.contact_network import ContactNetworkProjection
from projections.queries import (
    DUE_A_TOUCH,
    ERASED,
    NEVER_TOUCHED,
    NetworkContactKey,
    network_companies_page,
    network_contact_key,
    network_contacts_page,
)

router = APIRouter(prefix="/v1/network", tags=["network"])


@router.get("/contacts", response_model=NetworkContactPage, responses=problem_responses(401, 422, 503))
def list_network_contacts(
    recruiter: CurrentRecruiter,
    reads: Reads,
    page: Page,
    company: Annotated[str | None, Query(
        max_length=200, pattern=NO_NUL, description="Only this company's contacts.",
    )] = None,
    stale_after_days: Annotated[int | None, Query(
        ge=0, le=36500, description="Only contacts never touched, or last touched more than this many days ago.",
    )] = None,
) -> NetworkContactPage:
    """Contacts in the order they are due a touch: never touched first, then by next_touch_due;
    erased contacts (owed no touch) last. Contacts are employer-side people, shared by every
    team, so every role reads them."""
    after = _decode_contact_key(page.after)
    with reads.caught_up([ContactNetworkProjection.name]) as conn:
        rows = network_contacts_page(conn, reads.schema, company=company, stale_after_days=stale_after_days,
                                     after=after, limit=page.limit + 1)
    items = [NetworkContactOut.model_validate(row) for row in rows[: page.limit]]
    next_cursor = encode_cursor(network_contact_key(rows[page.limit - 1])) if len(rows) > page.limit else None
    return NetworkContactPage(items=items, next_cursor=next_cursor)


@router.get("/companies", response_model=NetworkCompanyPage, responses=problem_responses(401, 422, 503))
def list_network_companies(recruiter: CurrentRecruiter, reads: Reads, page: Page) -> NetworkCompanyPage:
    """Companies by name, with their contacts, touches, last touch and strength."""
    after = _decode_company_key(page.after)
    with reads.caught_up([ContactNetworkProjection.name]) as conn:
        rows = network_companies_page(conn, reads.schema, after=after, limit=page.limit + 1)
    items = [NetworkCompanyOut.model_validate(row) for row in rows[: page.limit]]
    next_cursor = encode_cursor([rows[page.limit - 1]["name"]]) if len(rows) > page.limit else None
    return NetworkCompanyPage(items=items, next_cursor=next_cursor)


def _decode_contact_key(after: list[object] | None) -> NetworkContactKey | None:
    if after is None:
        return None
    try:
        if len(after) == 2:  # a cursor from before erased contacts were listed last
            after = [NEVER_TOUCHED if after[0] is None else DUE_A_TOUCH, *after]
        due_group, next_touch_due, contact_id = after
        if due_group not in (NEVER_TOUCHED, DUE_A_TOUCH, ERASED) or isinstance(due_group, bool):
            raise ValueError(due_group)
        due = None if next_touch_due is None else datetime.fromisoformat(str(next_touch_due))
        return (due_group, due, UUID(str(contact_id)))
    except (TypeError, ValueError):
        raise invalid_cursor() from None


def _decode_company_key(after: list[object] | None) -> str | None:
    if after is None:
        return None
    if len(after) != 1 or not isinstance(after[0], str) or "\x00" in after[0]:
        raise invalid_cursor()
    return after[0]
