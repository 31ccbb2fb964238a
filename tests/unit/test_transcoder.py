"""The stored events' JSON reads back the same through orjson as through the library's own decoder."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO, DecimalAsStr, JSONTranscoder, TranscodingNotRegisteredError, UUIDAsHex,
)
from hypothesis import given
from hypothesis import strategies as st

from domain.transcodings import register_domain_transcodings
from domain.values import Channel, NoteKind, Outcome
from infra.transcoder import FollowupTranscoder


def registered(transcoder: JSONTranscoder) -> JSONTranscoder:
    for transcoding in (UUIDAsHex(), DatetimeAsISO(), DecimalAsStr()):
        transcoder.register(transcoding)
    register_domain_transcodings(transcoder)
    return transcoder


LIBRARY = registered(JSONTranscoder())
FAST = registered(FollowupTranscoder())

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.text(),
    st.uuids(), st.dates(), st.datetimes(timezones=st.just(UTC)), st.sampled_from(list(Channel)),
    st.sampled_from(list(NoteKind)), st.sampled_from(list(Outcome)),
)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=10), documents, max_size=6))
def test_reads_what_the_library_reads(state: dict) -> None:
    stored = LIBRARY.encode(state)
    assert FAST.decode(stored) == LIBRARY.decode(stored) == state


def test_an_event_state_decodes_to_values() -> None:
    contact_id = uuid4()
    state = {
        "timestamp": datetime(2026, 11, 25, 15, 0, tzinfo=UTC),
        "interviewer_ids": [contact_id],
        "deadline": date(2026, 12, 2),
        "channel": Channel.EMAIL,
        "nested": {"amount": Decimal("1.50"), "ids": [[contact_id]]},
    }
    decoded = FAST.decode(FAST.encode(state))
    assert decoded == state
    assert type(decoded["interviewer_ids"][0]) is type(contact_id)
    assert decoded["channel"] is Channel.EMAIL


def test_what_orjson_refuses_is_read_by_the_library_decoder() -> None:
    stored = LIBRARY.encode({"big": 2**70, "id": uuid4()})
    assert FAST.decode(stored) == LIBRARY.decode(stored)


def test_an_unknown_tagged_type_is_an_error_naming_it() -> None:
    with pytest.raises(TranscodingNotRegisteredError, match="martian"):
        FAST.decode(b'{"x":{"_type_":"martian","_data_":1}}')
