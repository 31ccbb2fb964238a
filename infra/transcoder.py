"""The stored events' JSON, written as the library writes it and read back with orjson.

Reading the log is what bounds every projection's catch-up and every replay, and the
library's decoder calls a Python hook for each of an event's many small objects (each
UUID, datetime and enum is a {"_type_", "_data_"} object). orjson parses the whole
document in C first; the tagged objects are then turned into values in one walk."""

from __future__ import annotations

import json
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder

TYPE, DATA = "_type_", "_data_"


class FollowupTranscoder(JSONTranscoder):
    """The library's JSON format, unchanged on disk (events written by either read with either)."""

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
                    value[name] = self.revive(item)
            return value
        if type(value) is list:
            return [self.revive(item) if type(item) is dict or type(item) is list else item for item in value]
        return value

    def _tagged(self, tagged: dict[str, Any]) -> Any:
        data = tagged[DATA]
        if type(data) is dict or type(data) is list:
            tagged[DATA] = data = self.revive(data)
        transcoding = self.names.get(tagged[TYPE])
        if transcoding is None:
            return self._decode_obj(tagged)  # the library's error, naming the unknown type
        return transcoding.decode(data)
