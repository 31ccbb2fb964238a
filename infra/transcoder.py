"""The stored events' JSON, written as the library writes it and read back with orjson.

Reading the log is what bounds every projection's catch-up and every replay, and the
library's decoder calls a Python hook for each of an event's many small objects (each
UUID, datetime and enum is a {"_type_", "_data_"} object). orjson parses the whole
document in C first; the tagged objects are then turned into values in one walk."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Transcoding

TYPE, DATA = "_type_", "_data_"


class FollowupTranscoder(JSONTranscoder):
    """The library's JSON format, unchanged on disk (events written by either read with either)."""

    def __init__(self) -> None:
        # Each registered transcoding's decoding, as one callable: see register.
        self._decoders: dict[str, Callable[[Any], Any]] = {}
        super().__init__()

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        # A datetime, the value events carry most, is parsed by the C function the library's
        # transcoding calls, without a Python method around it.
        decoder = datetime.fromisoformat if type(transcoding) is DatetimeAsISO else transcoding.decode
        self._decoders[transcoding.name] = decoder

    def decode(self, data: bytes) -> Any:
        return self.revive(self.parse(data))

    @staticmethod
    def parse(data: bytes) -> Any:
        """The stored JSON as parsed, its tagged objects not yet turned into values."""
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            return json.loads(data)  # what orjson refuses but the json module reads (NaN, integers past 64 bits)

    def revive(self, value: Any) -> Any:
        """A parsed value with its tagged objects decoded, innermost first, as the json hook would
        (containers are changed in place)."""
        if type(value) is dict:
            if len(value) == 2 and TYPE in value and DATA in value:
                return self._tagged(value)
            for name, item in value.items():  # replacing values while iterating is allowed
                if type(item) is dict or type(item) is list:
                    value[name] = self._member(item)
            return value
        if type(value) is list:
            return [self._member(item) if type(item) is dict or type(item) is list else item for item in value]
        return value

    def _member(self, value: dict[str, Any] | list[Any]) -> Any:
        # The common case first, without a call more: a tagged value whose data is a plain string
        # (a datetime, a UUID, a date, an enum's value).
        if type(value) is dict and len(value) == 2:
            data = value.get(DATA)
            if type(data) is str and (decoder := self._decoders.get(value.get(TYPE))) is not None:
                return decoder(data)
        return self.revive(value)

    def _tagged(self, tagged: dict[str, Any]) -> Any:
        data = tagged[DATA]
        if type(data) is dict or type(data) is list:
            tagged[DATA] = data = self.revive(data)
        decoder = self._decoders.get(tagged[TYPE])
        if decoder is None:
            return self._decode_obj(tagged)  # the library's error, naming the unknown type
        return decoder(data)
