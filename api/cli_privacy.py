"""`followup erase` (forget a candidate or a contact) and `followup keys rotate-master`."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Annotated
from uuid import UUID

import typer
from rich.console import Console

from domain.application import CommandResult, FollowupApplication
from domain.errors import DomainError
from infra.eventstore import PrivateFollowupApplication, open_application
from infra.person_keys import MasterKeyError, decode_master_key, master_key_file, new_master_key
from infra.settings import get_settings

erase = typer.Typer(help="Erase a person (right to be forgotten): their key is destroyed, the history keeps its "
                         "shape. The reason is recorded: never put the person's data in it.", no_args_is_help=True)
keys = typer.Typer(help="The master key that wraps every person's data key.", no_args_is_help=True)
errors = Console(stderr=True)

ReasonOption = Annotated[str, typer.Option(help="Why (e.g. the request's ticket number); never the person's data.")]


def _open_or_exit() -> PrivateFollowupApplication:
    try:
        return open_application()
    except MasterKeyError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=2) from None


EraseCommand = Callable[[FollowupApplication], Callable[..., CommandResult]]


def _erase(erase_person: EraseCommand, what: str, person_id: UUID, reason: str) -> None:
    from api.cli import _fail, cli_actor  # the CLI's own actor and error style (api.cli imports this module)

    application = _open_or_exit()
    try:
        result = erase_person(application)(person_id, reason, by=cli_actor())
    except DomainError as error:
        raise _fail(error) from None
    finally:
        application.close()
    errors.print(f"erased {what} {person_id} (event at log position {result.position})")


@erase.command("candidate")
def erase_candidate(candidate_id: Annotated[UUID, typer.Argument(help="The candidate's id.")],
                    reason: ReasonOption) -> None:
    """Erase a candidate: name, email and phone become unreadable everywhere; the read models forget them."""
    _erase(lambda app: app.erase_candidate, "candidate", candidate_id, reason)


@erase.command("contact")
def erase_contact(contact_id: Annotated[UUID, typer.Argument(help="The contact's id.")],
                  reason: ReasonOption) -> None:
    """Erase an employer contact: name, title, email and LinkedIn URL become unreadable everywhere."""
    _erase(lambda app: app.erase_contact, "contact", contact_id, reason)


@keys.command("rotate-master")
def rotate_master(
    new_key: Annotated[str | None, typer.Option(
        help="The new master key (32 bytes, base64). Without it one is generated and printed, alone, on stdout.",
    )] = None,
) -> None:
    """Re-wrap every person's key with a new master key, in one transaction. No event is rewritten.

    Then restart every Followup process with the new FOLLOWUP_MASTER_KEY: the old key no longer opens anything.
    With the embedded database and no FOLLOWUP_MASTER_KEY, the key file under the data directory is replaced."""
    settings = get_settings()
    try:
        new_master = decode_master_key(new_key) if new_key is not None else None
    except MasterKeyError as error:
        raise typer.BadParameter(str(error), param_hint="--new-key") from None
    text = new_key or new_master_key()
    key_file = master_key_file(settings) if not settings.master_key else None
    application = _open_or_exit()
    try:
        staged = None
        if key_file is not None:
            # Written beside the key file before the rotation, so the new key survives whatever happens next.
            staged = key_file.with_suffix(".new")
            fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as file:
                file.write(text + "\n")
        elif new_key is None:
            print(text)  # before the rotation, so the key is never in use unseen
        rotated = application.person_keys.rotate_master_key(new_master or decode_master_key(text))
        if staged is not None and key_file is not None:
            os.replace(staged, key_file)
    finally:
        application.close()
    where = f"stored in {key_file}" if key_file is not None else "now set FOLLOWUP_MASTER_KEY to it"
    errors.print(f"re-wrapped {rotated} person keys with the new master key ({where}); "
                 "restart every Followup process so that none keeps using the old one")
