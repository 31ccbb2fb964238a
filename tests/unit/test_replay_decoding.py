"""Stored values revived one at a time (as a replay reads the fields it folds) read as the library's JSON transcoder reads them."""

from __future__ import annotations

from datetime import UTC

import orjson
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, Transcoding, UUIDAsHex
from hypothesis import given
from hypothesis import strategies as st

from domain.transcodings import register_domain_transcodings
from domain.values import Channel, NoteKind, Outcome
from infra.transcoder import FollowupTranscoder

class FrozensetAsList(Transcoding):
    """A transcoding whose data is itself a container of tagged values."""

    type = frozenset
    name = "frozenset_as_list"

    def encode(self, obj: frozenset) -> list:
        return sorted(obj, key=str)

    def decode(self, data: list) -> frozenset:
        return frozenset(data)


LIBRARY, FAST = JSONTranscoder(), FollowupTranscoder()
for transcoder in (LIBRARY, FAST):
    for transcoding in (UUIDAsHex(), DatetimeAsISO(), DecimalAsStr(), FrozensetAsList()):
        transcoder.register(transcoding)
    register_domain_transcodings(transcoder)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.text(), st.uuids(), st.dates(),
    st.datetimes(timezones=st.just(UTC)), st.decimals(allow_nan=False), st.sampled_from(list(Channel)),
    st.sampled_from(list(NoteKind)), st.sampled_from(list(Outcome)),
    st.frozensets(st.uuids() | st.integers(0, 9), max_size=3),
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(values)
def test_a_stored_value_reads_back_as_the_library_reads_it(value):
    stored = LIBRARY.encode({"field": value})
    assert FAST.revive(orjson.loads(stored)["field"]) == LIBRARY.decode(stored)["field"]
