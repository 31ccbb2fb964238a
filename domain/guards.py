"""Input checks shared by the aggregates' command methods."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import InvalidCommand

# Timestamps outside this range are typing mistakes, not history.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def require_aware(value: datetime, field: str) -> datetime:
    """An instant must carry its offset: a naive time means different things in different zones."""
    if not isinstance(value, datetime):
        raise InvalidCommand(f"{field} must be a timestamp", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidCommand(f"{field} must include a UTC offset (e.g. 2026-11-25T10:00:00-05:00)", field=field)
    if not EARLIEST <= value < LATEST:
        raise InvalidCommand(f"{field} must be between 1900 and 2100", field=field)
    return value


def require_past(value: datetime, now: datetime, field: str) -> datetime:
    """Facts are recorded after they happen: a time in the future is refused."""
    require_aware(value, field)
    if value > now:
        raise InvalidCommand(f"{field} is in the future ({value.isoformat()}); record it once it has happened", field=field)
    return value


def require_text(value: str | None, field: str, *, max_length: int = 200, required: bool = True) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidCommand(f"{field} must not be empty", field=field)
        return None
    if len(value) > max_length:
        raise InvalidCommand(f"{field} is longer than {max_length} characters", field=field)
    return value


def require_timezone(name: str, field: str = "timezone") -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidCommand(f"{name!r} is not an IANA time zone name (e.g. America/New_York)", field=field) from None
    return name
