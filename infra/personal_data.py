"""The event mapper that encrypts each person's personal fields under their own key, and reads them back."""

from __future__ import annotations

import base64
import sys
from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from eventsourcing.domain import DomainEventProtocol, Snapshot
from eventsourcing.persistence import Cipher, Compressor, Mapper, StoredEvent, Transcoder
from eventsourcing.utils import resolve_topic

from domain.values import ERASED_NAME
from infra.person_keys import PersonKeys, seal, unseal

# The stored event's field holding the sealed personal fields: {"fields": [names], "sealed": base64}.
PERSONAL_DATA = "personal_data"


@lru_cache
def personal_fields(event_class: type) -> tuple[str, ...]:
    """The PERSONAL_FIELDS declared by the aggregate an event class is nested in (Candidate.Registered)."""
    aggregate = getattr(sys.modules[event_class.__module__], event_class.__qualname__.split(".")[0], None)
    return tuple(getattr(aggregate, "PERSONAL_FIELDS", ()))


@lru_cache
def topic_has_personal_fields(topic: str) -> bool:
    return bool(personal_fields(resolve_topic(topic)))


def snapshot_personal_fields(aggregate_topic: str) -> tuple[str, ...]:
    return tuple(getattr(resolve_topic(aggregate_topic), "PERSONAL_FIELDS", ()))


class PersonalDataMapper(Mapper[UUID]):
    """Before the transcoder writes an event of an aggregate with PERSONAL_FIELDS, those fields are
    replaced by one AES-GCM blob under the person's key (the person is the aggregate). On the way
    back they are decrypted; once the key is destroyed they read as None, the name as "erased
    person", so loading, projections and replays go on working without the person."""

    def __init__(
        self,
        transcoder: Transcoder,
        keys: PersonKeys,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
    ) -> None:
        super().__init__(transcoder, compressor=compressor, cipher=cipher)
        self.keys = keys

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        state = dict(vars(domain_event))
        person_id, version = domain_event.originator_id, domain_event.originator_version
        if isinstance(domain_event, Snapshot):
            aggregate_state = dict(state["state"])
            if not self._seal_into(aggregate_state, snapshot_personal_fields(state["topic"]), person_id, version):
                return super().to_stored_event(domain_event)
            state["state"] = aggregate_state
        elif not self._seal_into(state, personal_fields(type(domain_event)), person_id, version):
            return super().to_stored_event(domain_event)
        # The library's mapper reads the event's attributes: give it a copy holding the blob instead.
        sealed_event = object.__new__(type(domain_event))
        object.__setattr__(sealed_event, "__dict__", state)
        return super().to_stored_event(sealed_event)

    def to_domain_events(self, stored_events: Sequence[StoredEvent]) -> list[DomainEventProtocol[UUID]]:
        """Many events at once (a page of the log): the keys of everyone they name are read in one query."""
        self.keys.prefetch(stored.originator_id for stored in stored_events if topic_has_personal_fields(stored.topic))
        return [self.to_domain_event(stored) for stored in stored_events]

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        state = domain_event.__dict__  # the decoded state, not yet seen by anyone
        person_id, version = domain_event.originator_id, domain_event.originator_version
        if isinstance(domain_event, Snapshot):
            self._unseal_into(state["state"], person_id, version)
        else:
            self._unseal_into(state, person_id, version)
        return domain_event

    def _seal_into(self, state: dict[str, Any], fields: tuple[str, ...], person_id: UUID, version: int) -> bool:
        personal = {name: state.pop(name) for name in fields if name in state}
        if not personal:
            return False
        key = self.keys.key_for_writing(person_id)
        sealed = seal(key, self.transcoder.encode(personal), _context(person_id, version))
        state[PERSONAL_DATA] = {"fields": list(personal), "sealed": base64.b64encode(sealed).decode()}
        return True

    def _unseal_into(self, state: dict[str, Any], person_id: UUID, version: int) -> None:
        personal_data = state.pop(PERSONAL_DATA, None)
        if personal_data is None:
            return
        key = self.keys.key_for_reading(person_id)
        if key is None:
            state.update({name: ERASED_NAME if name == "name" else None for name in personal_data["fields"]})
            return
        try:
            plaintext = unseal(key, base64.b64decode(personal_data["sealed"]), _context(person_id, version))
        except InvalidTag:
            raise ValueError(f"the personal data of {person_id} at version {version} does not decrypt") from None
        state.update(self.transcoder.decode(plaintext))


def _context(person_id: UUID, version: int) -> bytes:
    # Bound to the person and the event: a blob copied to another event or person does not decrypt.
    return f"followup personal data:{person_id}:{version}".encode()


def decode_page(mapper: Mapper[UUID], stored_events: Sequence[StoredEvent]) -> list[DomainEventProtocol[UUID]]:
    """Decode a page of the log: with the personal-data mapper, everyone's keys in one query."""
    if isinstance(mapper, PersonalDataMapper):
        return mapper.to_domain_events(stored_events)
    return [mapper.to_domain_event(stored) for stored in stored_events]
