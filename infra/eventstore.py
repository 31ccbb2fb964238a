"""Opens the Followup application on the configured PostgreSQL, with personal data encrypted per person."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper
from eventsourcing.postgres import PostgresDatastore

from domain.application import FollowupApplication
from infra.database import advisory_lock_id, ensure_schema, eventsourcing_env, resolve_database_url
from infra.person_keys import MasterKeyError, PersonKeys, resolve_master_key
from infra.personal_data import PersonalDataMapper
from infra.settings import Settings, get_settings


class PrivateFollowupApplication(FollowupApplication):
    """The application whose stored events hold personal fields encrypted under each person's key."""

    name = FollowupApplication.name  # the same log and tables

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        master_key: bytes,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        # The mapper is built during the library's __init__, and needs the master key by then.
        self._master_key = master_key
        super().__init__(env, clock=clock)

    def construct_mapper(self) -> Mapper[UUID]:
        datastore: PostgresDatastore = self.factory.datastore  # type: ignore[attr-defined]
        self.person_keys = PersonKeys(datastore, self._master_key)
        self.person_keys.create_table()
        try:
            self.person_keys.check_master_key()
        except MasterKeyError:
            datastore.close()  # the application is not going to be returned, nor closed
            raise
        return PersonalDataMapper(
            self.construct_transcoder(), self.person_keys,
            compressor=self.factory.compressor(), cipher=self.factory.cipher(),
        )

    def forget_person(self, person_id: UUID) -> None:
        self.person_keys.forget(person_id)


def database_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return resolve_database_url(settings.database_url, settings.data_dir)


def open_application(
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    allow_key_file: bool = False,
) -> PrivateFollowupApplication:
    """The application with its tables created (idempotent), ready for commands.

    Refuses to open (MasterKeyError) without a usable master key: see infra.person_keys."""
    settings = settings or get_settings()
    master_key = resolve_master_key(settings, allow_key_file=allow_key_file)
    url = database_url(settings)
    ensure_schema(url, settings.schema_name)
    env = eventsourcing_env(url, settings.schema_name, pool_size=settings.db_pool_size,
                            max_overflow=settings.db_max_overflow, pool_timeout=settings.db_pool_timeout)
    return PrivateFollowupApplication(env, master_key=master_key, clock=clock)


@contextmanager
def one_process_at_a_time(settings: Settings) -> Iterator[None]:
    """Opening creates tables and functions if missing, and PostgreSQL refuses two concurrent
    CREATE OR REPLACE FUNCTION of one function ("tuple concurrently updated"): the processes of
    `serve --workers N` and `projections run` open one after the other. The lock goes with the connection."""
    lock_id = advisory_lock_id(f"followup:open:{settings.schema_name}")
    with psycopg.connect(database_url(settings), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (lock_id,))
        yield
