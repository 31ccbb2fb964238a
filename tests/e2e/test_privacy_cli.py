"""`followup erase` and `followup keys rotate-master` as an operator runs them, as real processes."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from domain.application import Actor
from domain.errors import Erased
from domain.values import Role
from infra.eventstore import open_application
from infra.person_keys import MasterKeyError
from infra.settings import Settings

FOLLOWUP = str(Path(sys.executable).parent / "followup")
ADMIN = Actor(uuid.UUID(int=1), "setup")


def test_erase_then_rotate_the_master_key_from_the_command_line(settings: Settings):
    env = {**os.environ, "DATABASE_URL": settings.database_url or "", "FOLLOWUP_SCHEMA": settings.schema_name,
           "FOLLOWUP_MASTER_KEY": settings.master_key or ""}
    app = open_application(settings)
    try:
        dana = app.add_recruiter("Dana", Role.RECRUITER, None, by=ADMIN).result.id
        gone = app.register_candidate("Quinn Zebediah", owner_id=dana, by=ADMIN).id
        kept = app.add_contact("Jordan Lee", "Mercy", email="lee@mercy.example", by=ADMIN).id
    finally:
        app.close()

    refused = subprocess.run([FOLLOWUP, "erase", "candidate", str(gone)], env=env, capture_output=True, text=True)
    assert refused.returncode != 0  # the reason is required
    subprocess.run([FOLLOWUP, "erase", "candidate", str(gone), "--reason", "request #12"], env=env, check=True,
                   capture_output=True)
    again = subprocess.run([FOLLOWUP, "erase", "candidate", str(gone), "--reason", "request #12"], env=env,
                           capture_output=True, text=True)
    assert again.returncode == 2 and "was erased" in again.stderr

    rotated = subprocess.run([FOLLOWUP, "keys", "rotate-master"], env=env, capture_output=True, text=True,
                             check=True)
    new_key = rotated.stdout.strip()
    assert len(base64.b64decode(new_key)) == 32 and "re-wrapped 1 person keys" in rotated.stderr

    with pytest.raises(MasterKeyError):
        open_application(settings)
    renewed = open_application(settings.model_copy(update={"master_key": new_key}))
    try:
        assert renewed.get_contact(kept).email == "lee@mercy.example"
        with pytest.raises(Erased):
            renewed.get_candidate(gone)
    finally:
        renewed.close()
