"""Candidate: a person the agency places, owned by the recruiter who registered them."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.values import ERASED_NAME, CareerStage


class Candidate(Aggregate):
    # Fields of this aggregate's events that identify the person (DESIGN §8).
    PERSONAL_FIELDS = ("name", "email", "phone")

    @event("Registered")
    def __init__(
        self,
        name: str,
        email: str | None,
        phone: str | None,
        specialty: str | None,
        career_stage: CareerStage | None,
        owner_id: UUID,
        team: str | None,
        actor_id: UUID,
        correlation_id: str,
        occurred_at: datetime,
    ) -> None:
        self.name = name
        self.email = email
        self.phone = phone
        self.specialty = specialty
        self.career_stage = career_stage
        self.owner_id = owner_id
        self.team = team
        self.erased = False

    def erase(self, reason: str, *, now: datetime, actor_id: UUID, correlation_id: str) -> None:
        """Forget the person: the history keeps its shape, their name and contact details are gone."""
        self._erased(reason, actor_id, correlation_id, now)

    @event("Erased")
    def _erased(self, reason: str, actor_id: UUID, correlation_id: str, occurred_at: datetime) -> None:
        self.name = ERASED_NAME
        self.email = None
        self.phone = None
        self.erased = True
