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
        if type(document) is dict or type(document) is list:
            return self._revive(document)
        return document

    def _revive(self, container: dict[str, Any] | list[Any]) -> Any:
        """The container with its tagged objects decoded, innermost first, as the json hook would."""
        if type(container) is dict:
            if len(container) == 2 and TYPE in container and DATA in container:
                return self._tagged(container)
            for name, item in container.items():  # replacing values while iterating is allowed
                if type(item) is dict or type(item) is list:
                    container[name] = self._revive(item)
            return container
        return [self._revive(item) if type(item) is dict or type(item) is list else item for item in container]

    def _tagged(self, tagged: dict[str, Any]) -> Any:
        data = tagged[DATA]
        if type(data) is dict or type(data) is list:
            tagged[DATA] = data = self._revive(data)
        transcoding = self.names.get(tagged[TYPE])
        if transcoding is None:
            return self._decode_obj(tagged)  # the library's error, naming the unknown type
        return transcoding.decode(data)
