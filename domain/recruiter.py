"""Recruiter: a user of the API, with a role, a team and a hashed API key."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.values import Role


class Recruiter(Aggregate):
    @event("Added")
    def __init__(
        self,
        name: str,
        role: Role,
        team: str | None,
        api_key_hash: str,
        actor_id: UUID,
        correlation_id: str,
        occurred_at: datetime,
    ) -> None:
        self.name = name
        self.role = role
        self.team = team
        self.api_key_hash = api_key_hash
        self.active = True

    @event("KeyRotated")
    def rotate_key(self, api_key_hash: str, actor_id: UUID, correlation_id: str, occurred_at: datetime) -> None:
        self.api_key_hash = api_key_hash

    @event("Deactivated")
    def deactivate(self, actor_id: UUID, correlation_id: str, occurred_at: datetime) -> None:
        self.active = False


class ApiKeyIndex(Aggregate):
    """Finds the recruiter of an API key by the key's hash, without a table of our own:
    its id is derived from the hash, so looking a key up is one stream read."""

    @staticmethod
    def create_id(api_key_hash: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"followup:api-key:{api_key_hash}")

    @event("Issued")
    def __init__(self, api_key_hash: str, recruiter_id: UUID) -> None:
        self.api_key_hash = api_key_hash
        self.recruiter_id = recruiter_id
