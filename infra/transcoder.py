"""The stored events' JSON, written as the library writes it and read back with orjson.

Reading the log is what bounds every projection's catch-up and every replay, and the
library's decoder calls a Python hook for each of an event's many small objects (each
UUID, datetime and enum is a {"_type_", "_data_"} object). orjson parses the whole
document in C first; the tagged objects are then turned into values in one walk."""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder

TYPE, DATA = "_type_", "_data_"


class FollowupTranscoder(JSONTranscoder):
    """The library's JSON format, unchanged on disk (events written by either read with either)."""

    def decode(self, data: bytes) -> Any:
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            # What orjson refuses but the json module accepts (NaN, integers past 64 bits).
            return super().decode(data)
        return self._revive(document)

    def _revive(self, value: Any) -> Any:
        if type(value) is dict:
            if len(value) == 2 and TYPE in value and DATA in value:
                inner = value[DATA]
                if type(inner) is dict or type(inner) is list:  # as the json hook would: innermost first
                    value[DATA] = self._revive(inner)
                transcoding = self.names.get(value[TYPE])
                if transcoding is None:
                    return self._decode_obj(value)  # the library's error, naming the unknown type
                return transcoding.decode(value[DATA])
            for name, item in value.items():
                if type(item) is dict or type(item) is list:
                    value[name] = self._revive(item)
            return value
        if type(value) is list:
            return [self._revive(item) if type(item) is dict or type(item) is list else item for item in value]
        return value
