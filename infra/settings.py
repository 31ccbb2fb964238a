"""The one settings object: every knob of Followup, read from the environment."""

from __future__ import annotations

from dataclasses import fields
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.policy import FollowUpPolicy


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FOLLOWUP_", extra="ignore")

    # libpq URI of an external PostgreSQL; unset: an embedded server under data_dir.
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = Path(".followup")
    # PostgreSQL schema holding Followup's tables (one agency per schema).
    schema_name: str = Field(default="public", validation_alias="FOLLOWUP_SCHEMA")
    # Base64 of 32 bytes: wraps every person's data key (docs/privacy.md). Required with DATABASE_URL;
    # the embedded database keeps a generated one in data_dir/master.key.
    master_key: str | None = Field(default=None, validation_alias="FOLLOWUP_MASTER_KEY", repr=False)
    # The event store's connection pool: steady size, extra connections under load, and how many
    # whole seconds a request waits for a connection before it is answered 503.
    db_pool_size: int = 2
    db_max_overflow: int = 10
    db_pool_timeout: int = 2

    # Whether `followup serve` runs the projections in its own process (else `followup projections run` does).
    run_projections: bool = True

    # Defaults for new candidacies.
    timezone: str = "UTC"
    country: str = "US"

    # The follow-up policy's numbers (DESIGN §3).
    thank_you_hours: int = 24
    deadline_buffer_first_business_day: int = 1
    deadline_buffer_last_business_day: int = 2
    no_deadline_first_business_day: int = 4
    no_deadline_last_business_day: int = 5
    stay_in_touch_days: int = 90
    stay_in_touch_grace_days: int = 14
    connect_linkedin_days: int = 7
    follow_up_within_days: int = 14

    def policy(self) -> FollowUpPolicy:
        """The follow-up policy, with this settings object's numbers (same names as its fields)."""
        return FollowUpPolicy(**{field.name: getattr(self, field.name) for field in fields(FollowUpPolicy)})


@lru_cache
def get_settings() -> Settings:
    return Settings()
