"""Settings: the policy's numbers come from the environment, with the source text's defaults."""

from __future__ import annotations

import pytest

from domain.policy import DEFAULT_POLICY
from infra.settings import Settings


def test_the_policy_defaults_are_the_source_texts():
    assert Settings().policy() == DEFAULT_POLICY


def test_each_policy_number_can_be_overridden_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FOLLOWUP_THANK_YOU_HOURS", "48")
    monkeypatch.setenv("FOLLOWUP_NO_DEADLINE_FIRST_BUSINESS_DAY", "3")
    monkeypatch.setenv("FOLLOWUP_STAY_IN_TOUCH_DAYS", "60")
    policy = Settings().policy()
    assert (policy.thank_you_hours, policy.no_deadline_first_business_day, policy.stay_in_touch_days) == (48, 3, 60)
    assert policy.no_deadline_last_business_day == DEFAULT_POLICY.no_deadline_last_business_day


def test_an_impossible_policy_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FOLLOWUP_DEADLINE_BUFFER_FIRST_BUSINESS_DAY", "3")  # after the last day (2)
    with pytest.raises(ValueError):
        Settings().policy()
