"""The Followup application: one command method per event, and the reads of single streams."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from domain.calendar import calendar_for
from domain.candidacy import Candidacy
from domain.candidate import Candidate
from domain.contact import Contact
from domain.errors import Erased, InvalidCommand, NotFound, UnknownReference, VersionConflict
from domain.guards import require_text, require_timezone
from domain.recruiter import ApiKeyIndex, Recruiter
from domain.transcodings import register_domain_transcodings
from domain.values import CareerStage, Channel, InterviewFormat, NoteKind, Outcome, Role

A = TypeVar("A", bound=Aggregate)

# How many keys' recruiter ids a process keeps (see recruiter_for_key); past that it starts afresh.
KEY_OWNERS_MAX = 10_000


@dataclass(frozen=True)
class Actor:
    """Who asked for a command, and the request it came with: recorded on every event."""

    actor_id: UUID
    correlation_id: str


@dataclass(frozen=True)
class CommandResult:
    id: UUID
    version: int
    position: int


@dataclass(frozen=True)
class NewRecruiter:
    result: CommandResult
    api_key: str  # shown once; only its hash is stored


def hash_api_key(api_key: str) -> str:
    # Keys are 256 random bits, so a fast hash is as strong as a slow one here.
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key() -> str:
    return "fu_" + secrets.token_urlsafe(32)


class FollowupApplication(Application[UUID]):
    name = "Followup"

    def __init__(self, env: dict[str, str] | None = None, *, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(env)
        self.clock = clock or (lambda: datetime.now(UTC))
        # Key hash -> recruiter id. A key's index names one recruiter for good (its id comes from the
        # hash, and it has no event but Issued), so this never goes stale; whether the key is still
        # good is decided by the recruiter, which is read on every request.
        self._key_owners: dict[str, UUID] = {}

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)

    # Recruiters and keys.

    def add_recruiter(self, name: str, role: Role, team: str | None, *, by: Actor) -> NewRecruiter:
        require_text(name, "name")
        require_text(team, "team", required=False)
        api_key = new_api_key()
        key_hash = hash_api_key(api_key)
        recruiter = Recruiter(name, role, team, key_hash, by.actor_id, by.correlation_id, self.clock())
        index = ApiKeyIndex(key_hash, recruiter.id)
        return NewRecruiter(self._save(recruiter, index), api_key)

    def rotate_key(self, recruiter_id: UUID, *, by: Actor) -> NewRecruiter:
        recruiter = self._get(Recruiter, recruiter_id)
        api_key = new_api_key()
        key_hash = hash_api_key(api_key)
        recruiter.rotate_key(key_hash, by.actor_id, by.correlation_id, self.clock())
        return NewRecruiter(self._save(recruiter, ApiKeyIndex(key_hash, recruiter.id)), api_key)

    def deactivate_recruiter(self, recruiter_id: UUID, *, by: Actor) -> CommandResult:
        recruiter = self._get(Recruiter, recruiter_id)
        recruiter.deactivate(by.actor_id, by.correlation_id, self.clock())
        return self._save(recruiter)

    def recruiter_for_key(self, api_key: str) -> Recruiter | None:
        """The active recruiter holding this key now, or None."""
        key_hash = hash_api_key(api_key)
        recruiter_id = self._key_owners.get(key_hash)
        if recruiter_id is None:
            try:
                index = self._read(ApiKeyIndex.create_id(key_hash))
            except AggregateNotFoundError:
                return None
            if not isinstance(index, ApiKeyIndex):
                return None
            recruiter_id = index.recruiter_id
            if len(self._key_owners) >= KEY_OWNERS_MAX:
                self._key_owners.clear()
            self._key_owners[key_hash] = recruiter_id
        try:
            recruiter = self._read(recruiter_id)
        except AggregateNotFoundError:
            return None
        # A rotated key's index stays, so the hash must still be the recruiter's current one.
        if not (isinstance(recruiter, Recruiter) and recruiter.active):
            return None
        if not hmac.compare_digest(recruiter.api_key_hash, key_hash):
            return None
        return recruiter

    def get_recruiter(self, recruiter_id: UUID) -> Recruiter:
        return self._get(Recruiter, recruiter_id)

    # Candidates and contacts.

    def register_candidate(
        self,
        name: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        specialty: str | None = None,
        career_stage: CareerStage | None = None,
        owner_id: UUID,
        by: Actor,
    ) -> CommandResult:
        require_text(name, "name")
        require_text(email, "email", max_length=254, required=False)
        require_text(phone, "phone", max_length=40, required=False)
        require_text(specialty, "specialty", required=False)
        owner = self._get_reference(Recruiter, owner_id, "owner_id")
        candidate = Candidate(
            name, email, phone, specialty, career_stage, owner.id, owner.team,
            by.actor_id, by.correlation_id, self.clock(),
        )
        return self._save(candidate)

    def get_candidate(self, candidate_id: UUID) -> Candidate:
        return self._get(Candidate, candidate_id)

    def get_candidate_unless_erased(self, candidate_id: UUID) -> Candidate | None:
        try:
            return self._get(Candidate, candidate_id)
        except Erased:
            return None

    def add_contact(
        self,
        name: str,
        company: str,
        *,
        title: str | None = None,
        email: str | None = None,
        linkedin_url: str | None = None,
        by: Actor,
    ) -> CommandResult:
        require_text(name, "name")
        require_text(company, "company")
        require_text(title, "title", required=False)
        require_text(email, "email", max_length=254, required=False)
        require_text(linkedin_url, "linkedin_url", max_length=500, required=False)
        contact = Contact(name, company, title, email, linkedin_url, by.actor_id, by.correlation_id, self.clock())
        return self._save(contact)

    def get_contact(self, contact_id: UUID) -> Contact:
        return self._get(Contact, contact_id)

    def send_contact_note(
        self,
        contact_id: UUID,
        kind: NoteKind,
        channel: Channel,
        sent_at: datetime | None = None,
        *,
        by: Actor,
        expected_version: int | None = None,
    ) -> CommandResult:
        contact = self._get(Contact, contact_id, expected_version)
        now = self.clock()
        contact.send_note(kind, channel, sent_at or now, now=now, actor_id=by.actor_id, correlation_id=by.correlation_id)
        return self._save(contact)

    def connect_linkedin(
        self, contact_id: UUID, connected_at: datetime | None = None, *, by: Actor, expected_version: int | None = None
    ) -> CommandResult:
        contact = self._get(Contact, contact_id, expected_version)
        now = self.clock()
        contact.connect_linkedin(connected_at or now, now=now, actor_id=by.actor_id, correlation_id=by.correlation_id)
        return self._save(contact)

    # Erasure (DESIGN §8).

    def erase_candidate(self, candidate_id: UUID, reason: str, *, by: Actor) -> CommandResult:
        """Erase a candidate: their key is destroyed, then Candidate.Erased is appended (with the reason,
        which must not repeat the person's data). Candidacies keep their facts, without the person."""
        require_text(reason, "reason", max_length=500)
        candidate = self._get(Candidate, candidate_id)
        # Key first: if appending the event fails, a retry finds the person not yet erased and completes.
        self.forget_person(candidate.id)
        candidate.erase(reason, now=self.clock(), actor_id=by.actor_id, correlation_id=by.correlation_id)
        return self._save(candidate)

    def erase_contact(self, contact_id: UUID, reason: str, *, by: Actor) -> CommandResult:
        """Erase an employer contact, as erase_candidate does a candidate; their company and touches stay."""
        require_text(reason, "reason", max_length=500)
        contact = self._get(Contact, contact_id)
        self.forget_person(contact.id)
        contact.erase(reason, now=self.clock(), actor_id=by.actor_id, correlation_id=by.correlation_id)
        return self._save(contact)

    def forget_person(self, person_id: UUID) -> None:
        """Destroy the key that makes the person's data in stored events readable. The domain keeps
        no keys: the event store's wiring (infra.eventstore) encrypts personal data and does this."""
        raise NotImplementedError("personal data keys are kept by the event store (infra.eventstore)")

    # Candidacies: the follow-up stream. Each command takes the candidacy as the caller already read it
    # for this request (`loaded`, e.g. to check the caller may see it), so the stream is read once.

    def open_candidacy(
        self,
        candidate_id: UUID,
        company: str,
        position: str,
        *,
        timezone: str = "UTC",
        country: str = "US",
        subdivision: str | None = None,
        by: Actor,
    ) -> CommandResult:
        require_text(company, "company")
        require_text(position, "position")
        require_timezone(timezone)
        _require_holiday_calendar(country, subdivision)
        candidate = self._get_reference(Candidate, candidate_id, "candidate_id")
        candidacy = Candidacy(
            candidate.id, candidate.owner_id, candidate.team, company, position, timezone,
            country.upper(), subdivision, by.actor_id, by.correlation_id, self.clock(),
        )
        return self._save(candidacy)

    def get_candidacy(self, candidacy_id: UUID) -> Candidacy:
        return self._get(Candidacy, candidacy_id)

    def record_interview(
        self,
        candidacy_id: UUID,
        held_at: datetime,
        interviewer_ids: Iterable[UUID],
        format: InterviewFormat = InterviewFormat.IN_PERSON,
        *,
        by: Actor,
        expected_version: int | None = None,
        loaded: Candidacy | None = None,
    ) -> CommandResult:
        candidacy = self._candidacy_to_change(candidacy_id, expected_version, loaded)
        interviewer_ids = list(interviewer_ids)
        for contact_id in interviewer_ids:
            self._get_reference(Contact, contact_id, "interviewer_ids")
        candidacy.record_interview(
            held_at, interviewer_ids, format, now=self.clock(), actor_id=by.actor_id, correlation_id=by.correlation_id
        )
        return self._save(candidacy)

    def state_deadline(
        self,
        candidacy_id: UUID,
        decide_by: date,
        stated_at: datetime | None = None,
        *,
        by: Actor,
        expected_version: int | None = None,
        loaded: Candidacy | None = None,
    ) -> CommandResult:
        candidacy = self._candidacy_to_change(candidacy_id, expected_version, loaded)
        now = self.clock()
        candidacy.state_deadline(
            decide_by, stated_at or now, now=now, actor_id=by.actor_id, correlation_id=by.correlation_id
        )
        return self._save(candidacy)

    def send_note(
        self,
        candidacy_id: UUID,
        contact_id: UUID,
        kind: NoteKind,
        channel: Channel,
        sent_at: datetime | None = None,
        *,
        by: Actor,
        expected_version: int | None = None,
        loaded: Candidacy | None = None,
    ) -> CommandResult:
        candidacy = self._candidacy_to_change(candidacy_id, expected_version, loaded)
        self._get_reference(Contact, contact_id, "contact_id")
        now = self.clock()
        candidacy.send_note(
            contact_id, kind, channel, sent_at or now, now=now, actor_id=by.actor_id, correlation_id=by.correlation_id
        )
        return self._save(candidacy)

    def send_check_in(
        self,
        candidacy_id: UUID,
        channel: Channel,
        contact_id: UUID | None = None,
        sent_at: datetime | None = None,
        *,
        by: Actor,
        expected_version: int | None = None,
        loaded: Candidacy | None = None,
    ) -> CommandResult:
        candidacy = self._candidacy_to_change(candidacy_id, expected_version, loaded)
        if contact_id is not None:
            self._get_reference(Contact, contact_id, "contact_id")
        now = self.clock()
        candidacy.send_check_in(
            channel, contact_id, sent_at or now, now=now, actor_id=by.actor_id, correlation_id=by.correlation_id
        )
        return self._save(candidacy)

    def record_outcome(
        self,
        candidacy_id: UUID,
        outcome: Outcome,
        occurred_at: datetime | None = None,
        *,
        by: Actor,
        expected_version: int | None = None,
        loaded: Candidacy | None = None,
    ) -> CommandResult:
        candidacy = self._candidacy_to_change(candidacy_id, expected_version, loaded)
        now = self.clock()
        candidacy.record_outcome(
            outcome, occurred_at or now, now=now, actor_id=by.actor_id, correlation_id=by.correlation_id
        )
        return self._save(candidacy)

    # Plumbing.

    def _read(self, aggregate_id: UUID) -> Aggregate:
        # The library's default projector checks every event against a runtime Protocol, which costs
        # more than applying the event; the events of a stream are the aggregate's own, so apply them.
        return self.repository.get(aggregate_id, projector_func=_apply_events)

    def _get(self, aggregate_class: type[A], aggregate_id: UUID, expected_version: int | None = None) -> A:
        try:
            aggregate = self._read(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"no {aggregate_class.__name__.lower()} {aggregate_id}") from None
        return self._checked(aggregate_class, aggregate_id, aggregate, expected_version)

    @staticmethod
    def _checked(aggregate_class: type[A], aggregate_id: UUID, aggregate: Aggregate,
                 expected_version: int | None) -> A:
        if not isinstance(aggregate, aggregate_class):
            raise NotFound(f"no {aggregate_class.__name__.lower()} {aggregate_id}")
        if getattr(aggregate, "erased", False):
            raise Erased(f"{aggregate_class.__name__.lower()} {aggregate_id} was erased")
        if expected_version is not None and aggregate.version != expected_version:
            raise VersionConflict(
                f"{aggregate_class.__name__.lower()} {aggregate_id} is at version {aggregate.version}, "
                f"not {expected_version}"
            )
        return aggregate

    def _candidacy_to_change(
        self, candidacy_id: UUID, expected_version: int | None, loaded: Candidacy | None
    ) -> Candidacy:
        """The candidacy a command changes: the one read earlier in the request if given, else read now.
        Either way, if another request appended since the read, the save is refused as a version conflict."""
        if loaded is None:
            return self._get(Candidacy, candidacy_id, expected_version)
        if loaded.id != candidacy_id:
            raise ValueError(f"the candidacy given is {loaded.id}, not {candidacy_id}")
        return self._checked(Candidacy, candidacy_id, loaded, expected_version)

    def _get_reference(self, aggregate_class: type[A], aggregate_id: UUID, field: str) -> A:
        """An id named in a command's body: unknown is invalid input, not a missing resource."""
        try:
            return self._get(aggregate_class, aggregate_id)
        except NotFound:
            raise UnknownReference(f"no {aggregate_class.__name__.lower()} {aggregate_id}", field=field) from None
        except Erased:
            raise UnknownReference(f"{aggregate_class.__name__.lower()} {aggregate_id} was erased",
                                   field=field) from None

    def _save(self, *aggregates: Aggregate) -> CommandResult:
        try:
            recordings = self.save(*aggregates)
        except IntegrityError:
            # Another writer appended to the same stream first.
            first = aggregates[0]
            raise VersionConflict(
                f"{type(first).__name__.lower()} {first.id} was changed by another request; reload and retry"
            ) from None
        first = aggregates[0]
        return CommandResult(first.id, first.version, recordings[-1].notification.id)


def _apply_events(aggregate: Aggregate | None, events: Iterable[Any]) -> Aggregate | None:
    for domain_event in events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


def _require_holiday_calendar(country: str, subdivision: str | None) -> None:
    try:
        calendar_for(country.upper(), None)
    except ValueError as error:
        raise InvalidCommand(str(error), field="country") from None
    if subdivision:
        try:
            calendar_for(country.upper(), subdivision)
        except ValueError as error:
            raise InvalidCommand(str(error), field="subdivision") from None
