"""The command line as a newcomer meets it: `followup users add` and `followup demo`, as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from infra.settings import Settings

FOLLOWUP = str(Path(sys.executable).parent / "followup")


def _env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": settings.database_url or "", "FOLLOWUP_SCHEMA": settings.schema_name}


def test_users_add_prints_the_new_key_alone_on_stdout(settings: Settings):
    added = subprocess.run([FOLLOWUP, "users", "add", "Ada Admin", "--role", "admin"], env=_env(settings),
                           capture_output=True, text=True, check=True)
    lines = added.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fu_") and len(lines[0]) > 40
    assert "Ada Admin" in added.stderr  # what was done goes to stderr, the key alone to stdout


def test_users_add_refuses_an_unknown_role(settings: Settings):
    refused = subprocess.run([FOLLOWUP, "users", "add", "Ada", "--role", "boss"], env=_env(settings),
                             capture_output=True, text=True)
    assert refused.returncode != 0
    assert refused.stdout == ""


def test_demo_prints_each_recruiters_queue_with_reasons(settings: Settings):
    wide = {**_env(settings), "COLUMNS": "400"}  # one table row a line, so phrases are not wrapped
    demo = subprocess.run([FOLLOWUP, "demo"], env=wide, capture_output=True, text=True, check=True, timeout=120)
    out = demo.stdout
    assert "Dana Reyes (recruiter, Critical Care)" in out
    assert "Chris Okafor (recruiter, Travel & Allied)" in out
    for kind in ("thank_you", "check_in", "connect_linkedin", "stay_in_touch"):
        assert kind in out
    assert "business days after the interview" in out
    assert "skipped)" in out  # the sample interview before a public holiday names it
    assert "handwritten_only" in out and "early" in out
    assert out.count("fu_") == 4  # the sample users' keys, shown once
