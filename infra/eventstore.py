"""Opens the Followup application on the configured PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.application import FollowupApplication
from infra.database import ensure_schema, eventsourcing_env, resolve_database_url
from infra.settings import Settings, get_settings


def database_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return resolve_database_url(settings.database_url, settings.data_dir)


def open_application(
    settings: Settings | None = None, *, clock: Callable[[], datetime] | None = None
) -> FollowupApplication:
    """The application with its tables created (idempotent), ready for commands."""
    settings = settings or get_settings()
    url = database_url(settings)
    ensure_schema(url, settings.schema_name)
    return FollowupApplication(eventsourcing_env(url, settings.schema_name), clock=clock)
