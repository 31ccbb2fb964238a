"""Random histories of recruiter commands, for the property tests of the read models."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from hypothesis import strategies as st

from domain.application import Actor, FollowupApplication
from domain.errors import DomainError
from domain.values import Channel, InterviewFormat, NoteKind, Outcome

KINDS = ("interview", "deadline", "thank_you", "check_in", "outcome", "contact_note", "linkedin", "erase_contact")


def commands(
    *, candidacies: int, contacts: int = 3, days: int, min_size: int = 0, max_size: int, erasures: bool = False,
) -> st.SearchStrategy[list[tuple[str, int, int, int]]]:
    """Lists of (kind, candidacy index, contact index, hours before now), now minus up to `days` days."""
    kinds = KINDS if erasures else KINDS[:-1]
    return st.lists(
        st.tuples(st.sampled_from(kinds), st.integers(0, candidacies - 1), st.integers(0, contacts - 1),
                  st.integers(0, days * 24)),
        min_size=min_size,
        max_size=max_size,
    )


def run_command(
    app: FollowupApplication, command: tuple[str, int, int, int], candidacies: list[UUID], contacts: list[UUID],
    *, now: datetime, by: Actor, interviewers: int = 1,
) -> None:
    """Send the command; one the application refuses (an erased contact, a closed candidacy) stores
    nothing, and the history goes on."""
    kind, which, contact_index, hours_ago = command
    candidacy, contact = candidacies[which], contacts[contact_index]
    at = now - timedelta(hours=hours_ago)
    # Alternated on the hour, so that both of each pair show up.
    odd = hours_ago % 2 == 1
    try:
        if kind == "interview":
            panel = [contacts[(contact_index + n) % len(contacts)] for n in range(interviewers)]
            app.record_interview(candidacy, at, panel, InterviewFormat.VIDEO, by=by)
        elif kind == "deadline":
            app.state_deadline(candidacy, (at + timedelta(days=hours_ago % 9)).date(), at, by=by)
        elif kind == "thank_you":
            app.send_note(candidacy, contact, NoteKind.THANK_YOU, Channel.EMAIL, at, by=by)
        elif kind == "check_in":
            app.send_check_in(candidacy, Channel.EMAIL, contact, at, by=by)
        elif kind == "outcome":
            app.record_outcome(candidacy, Outcome.HIRED if odd else Outcome.REJECTED, at, by=by)
        elif kind == "contact_note":
            app.send_contact_note(contact, NoteKind.CONGRATULATIONS if odd else NoteKind.HELPFUL_INFO,
                                  Channel.EMAIL, at, by=by)
        elif kind == "linkedin":
            app.connect_linkedin(contact, at, by=by)
        else:
            app.erase_contact(contact, "GDPR request #1", by=by)
    except DomainError:
        pass
