"""Per-person data keys: kept in PostgreSQL, wrapped by the master key, destroyed to erase a person."""

from __future__ import annotations

import base64
import binascii
import logging
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Composed, Identifier

from domain.errors import Erased
from infra.settings import Settings

log = logging.getLogger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_TABLE = "person_keys"
MASTER_KEY_FILE = "master.key"
# How long a process trusts a key it has read (or the absence of one): an erasure made by
# another process (the CLI, another API worker) is seen by this one within that time.
KEY_CACHE_SECONDS = 30.0
KEY_CACHE_SIZE = 100_000


class MasterKeyError(RuntimeError):
    """The master key is missing, malformed, or not the one the person keys are wrapped with."""


def new_master_key() -> str:
    """A fresh master key, base64, as FOLLOWUP_MASTER_KEY expects it."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def decode_master_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError("FOLLOWUP_MASTER_KEY is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise MasterKeyError(f"FOLLOWUP_MASTER_KEY must be {KEY_BYTES} bytes, base64-encoded (got {len(key)})")
    return key


def master_key_file(settings: Settings) -> Path:
    return settings.data_dir / MASTER_KEY_FILE


def resolve_master_key(settings: Settings, *, allow_key_file: bool = False) -> bytes:
    """FOLLOWUP_MASTER_KEY; else, for the embedded database (or when allowed), the key file under
    the data directory, created on first use. An external database without a master key is refused:
    a key generated on one host would leave every other host unable to read anyone."""
    if settings.master_key:
        return decode_master_key(settings.master_key)
    if settings.database_url is not None and not allow_key_file:
        raise MasterKeyError(
            "FOLLOWUP_MASTER_KEY is required with DATABASE_URL: set it to 32 random bytes in base64 "
            "(e.g. `python -c \"import base64, os; print(base64.b64encode(os.urandom(32)).decode())\"`) "
            "and keep it apart from the database's backups"
        )
    return _key_file_master_key(master_key_file(settings))


def _key_file_master_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: read theirs
        else:
            with os.fdopen(fd, "w") as file:
                file.write(new_master_key() + "\n")
            log.info("generated a master key in %s", path)
    return decode_master_key(path.read_text())


def seal(key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """AES-256-GCM: a random nonce, then the ciphertext and its tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data)


def unseal(key: bytes, sealed: bytes, associated_data: bytes) -> bytes:
    """The plaintext; InvalidTag if the key, the data or its context is not the one sealed."""
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated_data)


def _wrapping_context(person_id: UUID) -> bytes:
    # A wrapped key only unwraps for the person it was made for: rows cannot be swapped.
    return b"followup person key:" + person_id.bytes


class PersonKeys:
    """The key table: one AES-256 data key per person, wrapped (AES-GCM) by the master key.

    A row whose wrapped_key is NULL is an erased person: their key is gone for good, and no
    new key is ever made for them, so nothing written later could be read either."""

    def __init__(self, datastore: PostgresDatastore, master_key: bytes) -> None:
        self.datastore = datastore
        self._master_key = master_key
        self._cache: dict[UUID, tuple[bytes | None, float]] = {}
        self._lock = threading.Lock()

    def _sql(self, statement: str) -> Composed:
        return SQL(statement).format(schema=Identifier(self.datastore.schema), table=Identifier(KEY_TABLE))

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._sql(
                """CREATE TABLE IF NOT EXISTS {schema}.{table} (
                    person_id uuid PRIMARY KEY,
                    wrapped_key bytea,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    erased_at timestamptz)"""
            ))

    def check_master_key(self) -> None:
        """Refuse a master key that does not unwrap the keys already stored (e.g. the one before a rotation)."""
        with self.datastore.transaction() as curs:
            curs.execute(self._sql("SELECT person_id, wrapped_key FROM {schema}.{table} "
                                   "WHERE wrapped_key IS NOT NULL LIMIT 1"))
            row = curs.fetchone()
        if row is not None:
            self._unwrap(row["person_id"], row["wrapped_key"])

    def key_for_writing(self, person_id: UUID) -> bytes:
        """The person's key, made on their first event. An erased person gets none (Erased)."""
        key = self.key_for_reading(person_id)
        if key is not None:
            return key
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                self._sql("INSERT INTO {schema}.{table} (person_id, wrapped_key) VALUES (%s, %s) "
                          "ON CONFLICT (person_id) DO NOTHING"),
                (person_id, self._wrap(person_id, os.urandom(KEY_BYTES))),
            )
        self._forget_cached(person_id)
        key = self.key_for_reading(person_id)  # the row that won, if another writer made one first
        if key is None:
            raise Erased(f"person {person_id} was erased")
        return key

    def key_for_reading(self, person_id: UUID) -> bytes | None:
        """The person's key, or None when they were erased (or never had one)."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(person_id)
        if cached is not None and now - cached[1] < KEY_CACHE_SECONDS:
            return cached[0]
        with self.datastore.transaction() as curs:
            curs.execute(self._sql("SELECT wrapped_key FROM {schema}.{table} WHERE person_id = %s"), (person_id,))
            row = curs.fetchone()
        key = self._unwrap(person_id, row["wrapped_key"]) if row and row["wrapped_key"] is not None else None
        with self._lock:
            if len(self._cache) >= KEY_CACHE_SIZE:
                self._cache.clear()
            self._cache[person_id] = (key, now)
        return key

    def prefetch(self, person_ids: Iterable[UUID]) -> None:
        """Read the keys of many people in one query (a page of the log names hundreds of them),
        so that decoding the page does not ask the database once per person."""
        now = time.monotonic()
        with self._lock:
            missing = [
                person_id for person_id in set(person_ids)
                if (cached := self._cache.get(person_id)) is None or now - cached[1] >= KEY_CACHE_SECONDS
            ]
        if not missing:
            return
        with self.datastore.transaction() as curs:
            curs.execute(self._sql("SELECT person_id, wrapped_key FROM {schema}.{table} WHERE person_id = ANY(%b)"),
                         (missing,))
            wrapped = {row["person_id"]: row["wrapped_key"] for row in curs.fetchall()}
        keys = {
            person_id: (self._unwrap(person_id, wrapped[person_id]) if wrapped.get(person_id) is not None else None,
                        now)
            for person_id in missing
        }
        with self._lock:
            if len(self._cache) + len(keys) > KEY_CACHE_SIZE:
                self._cache.clear()  # not in the middle of a page: the page's keys stay
            self._cache.update(keys)

    def forget(self, person_id: UUID) -> None:
        """Destroy the person's key (crypto-shredding): their encrypted data can no longer be read."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                self._sql("INSERT INTO {schema}.{table} (person_id, wrapped_key, erased_at) VALUES (%s, NULL, now()) "
                          "ON CONFLICT (person_id) DO UPDATE SET wrapped_key = NULL, "
                          "erased_at = coalesce({table}.erased_at, now())"),
                (person_id,),
            )
        self._forget_cached(person_id)
        self._vacuum()

    def rotate_master_key(self, new_master_key: bytes) -> int:
        """Re-wrap every person key with the new master key, in one transaction; returns how many.
        No event is rewritten: the data keys themselves do not change."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._sql("SELECT person_id, wrapped_key FROM {schema}.{table} "
                                   "WHERE wrapped_key IS NOT NULL FOR UPDATE"))
            rows = curs.fetchall()
            rewrapped = [
                (seal(new_master_key, self._unwrap(row["person_id"], row["wrapped_key"]),
                       _wrapping_context(row["person_id"])), row["person_id"])
                for row in rows
            ]
            curs.executemany(self._sql("UPDATE {schema}.{table} SET wrapped_key = %s WHERE person_id = %s"),
                             rewrapped)
        self._master_key = new_master_key
        with self._lock:
            self._cache.clear()
        self._vacuum()
        return len(rewrapped)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def _forget_cached(self, person_id: UUID) -> None:
        with self._lock:
            self._cache.pop(person_id, None)

    def _wrap(self, person_id: UUID, key: bytes) -> bytes:
        return seal(self._master_key, key, _wrapping_context(person_id))

    def _unwrap(self, person_id: UUID, wrapped: bytes) -> bytes:
        try:
            return unseal(self._master_key, bytes(wrapped), _wrapping_context(person_id))
        except InvalidTag:
            raise MasterKeyError(
                "the master key does not unwrap the stored person keys: FOLLOWUP_MASTER_KEY is not the key "
                "they were wrapped with (was it rotated?)"
            ) from None

    def _vacuum(self) -> None:
        # Old row versions (a destroyed key, a key wrapped by a retired master key) stay in the
        # table's pages until vacuumed: reclaim them now rather than at autovacuum's leisure.
        try:
            with self.datastore.get_connection() as conn:
                conn.execute(self._sql("VACUUM {schema}.{table}"))
        except Exception as error:  # not the table's owner, say: autovacuum will get there
            log.warning("could not vacuum the key table: %s", error)
