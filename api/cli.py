"""The `followup` command line: users, the demo, and (with the API) the server."""

from __future__ import annotations

import getpass
import logging
import os
import sys
import uuid
from datetime import UTC, datetime
from typing import Annotated
from uuid import NAMESPACE_URL, UUID, uuid5

import typer
from rich.console import Console
from rich.table import Table

from api.cli_privacy import erase, keys
from api.cli_projections import projections
from api.cli_reports import report
from domain.application import Actor, FollowupApplication
from domain.errors import DomainError
from domain.values import FollowUpStatus, Role
from infra.eventstore import open_application
from infra.person_keys import MasterKeyError, resolve_master_key
from infra.settings import get_settings

app = typer.Typer(help="Followup: the interview follow-up engine of a recruiting team.", no_args_is_help=True)
users = typer.Typer(help="Add recruiters, rotate and deactivate their API keys.", no_args_is_help=True)
app.add_typer(users, name="users")
app.add_typer(projections, name="projections")
app.add_typer(erase, name="erase")
app.add_typer(keys, name="keys")
app.command("report")(report)

# Piped output (a file, CI) gets a width that keeps the queue's reasons readable, unless COLUMNS says.
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160)
errors = Console(stderr=True)


def cli_actor() -> Actor:
    """Commands run from the shell are recorded as made by the operating-system user."""
    return Actor(uuid5(NAMESPACE_URL, f"followup:cli-user:{getpass.getuser()}"), f"cli-{uuid.uuid4()}")


def _open(*, allow_key_file: bool = False) -> FollowupApplication:
    logging.basicConfig(level=logging.WARNING)
    try:
        return open_application(allow_key_file=allow_key_file)
    except MasterKeyError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=2) from None


def _fail(error: DomainError) -> typer.Exit:
    where = f" ({error.field})" if error.field else ""
    errors.print(f"[red]error{where}:[/red] {error.message}")
    return typer.Exit(code=2)


@users.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The recruiter's name.")],
    role: Annotated[Role, typer.Option(help="What the key may do.", case_sensitive=False)] = Role.RECRUITER,
    team: Annotated[str | None, typer.Option(help="The team whose candidates the recruiter sees.")] = None,
) -> None:
    """Add a user and print their new API key, alone, on stdout (it is shown only once)."""
    application = _open()
    try:
        added = application.add_recruiter(name, role, team, by=cli_actor())
    except DomainError as error:
        raise _fail(error) from None
    finally:
        application.close()
    errors.print(f"added {role.value} {name} with id {added.result.id}")
    print(added.api_key)


@users.command("rotate")
def users_rotate(recruiter_id: Annotated[UUID, typer.Argument(help="The recruiter's id.")]) -> None:
    """Replace a user's API key: the old one stops working at once; the new one is printed."""
    application = _open()
    try:
        rotated = application.rotate_key(recruiter_id, by=cli_actor())
    except DomainError as error:
        raise _fail(error) from None
    finally:
        application.close()
    print(rotated.api_key)


@users.command("deactivate")
def users_deactivate(recruiter_id: Annotated[UUID, typer.Argument(help="The recruiter's id.")]) -> None:
    """Deactivate a user: their key stops working at once."""
    application = _open()
    try:
        application.deactivate_recruiter(recruiter_id, by=cli_actor())
    except DomainError as error:
        raise _fail(error) from None
    finally:
        application.close()
    errors.print(f"deactivated {recruiter_id}")


STATUS_STYLES = {
    FollowUpStatus.OVERDUE: "bold red",
    FollowUpStatus.DUE: "bold yellow",
    FollowUpStatus.UPCOMING: "cyan",
    FollowUpStatus.DONE: "green",
}


@app.command()
def demo(
    show_done: Annotated[bool, typer.Option(help="Also list the follow-ups already done.")] = True,
) -> None:
    """Load a sample recruiter team into the database and print each recruiter's follow-up queue."""
    from api.demo import demo_queue, load_demo_team

    settings = get_settings()
    # Sample people only: without FOLLOWUP_MASTER_KEY their keys are wrapped by the data directory's key file.
    application = _open(allow_key_file=True)
    try:
        team = load_demo_team(application, cli_actor())
        as_of = datetime.now(UTC)
        console.print(
            f"[bold]Followup demo[/bold]: a sample team loaded; queues as of "
            f"{as_of.astimezone().strftime('%a %d %b %Y %H:%M %Z')}\n"
        )
        for recruiter_id, label in team.recruiters.items():
            if not team.candidacies_by_owner.get(recruiter_id):
                continue
            items = [
                item
                for item in demo_queue(application, recruiter_id, as_of, settings.policy())
                if show_done or item["status"] != FollowUpStatus.DONE.value
            ]
            table = Table(title=f"{label}: {len(items)} follow-ups", title_justify="left", show_lines=True)
            table.add_column("status")
            table.add_column("follow-up", no_wrap=True)
            table.add_column("candidate")
            table.add_column("to")
            table.add_column("due (local time)", no_wrap=True)
            table.add_column("why", ratio=1, min_width=50)
            for item in items:
                tz = application.get_candidacy(item["candidacy_id"]).timezone
                status = FollowUpStatus(item["status"])
                flags = f" [magenta]({', '.join(item['flags'])})[/magenta]" if item["flags"] else ""
                table.add_row(
                    f"[{STATUS_STYLES[status]}]{status.value}[/]{flags}",
                    item["kind"],
                    team.candidate_names[item["candidate_id"]],
                    team.contact_names[item["contact_id"]] if item["contact_id"] else "the employer",
                    f"{_local(item['due_from'], tz)}\n→ {_local(item['due_by'], tz)}",
                    item["reason"],
                )
            console.print(table)
        console.print("\nAPI keys of the sample users (shown once):")
        for recruiter_id, label in team.recruiters.items():
            console.print(f"  {label}: {team.api_keys[recruiter_id]}", soft_wrap=True)
    finally:
        application.close()


def _local(instant: datetime, tz: str) -> str:
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M %Z")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="API processes (stateless; they share the database).")] = 1,
    projections: Annotated[
        bool, typer.Option(help="Run the projections in this process; --no-projections when "
                                "`followup projections run` runs them elsewhere.")
    ] = True,
) -> None:
    """Run the HTTP API, with the projections running in the same process unless told otherwise."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if workers > 1 and projections:
        raise typer.BadParameter("with --workers above 1, run the projections apart: add --no-projections "
                                 "and start `followup projections run`", param_hint="--workers")
    try:
        resolve_master_key(get_settings())  # refuse to start without one, before any worker does
    except MasterKeyError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=2) from None
    # Read by each worker process's settings (uvicorn starts them afresh).
    os.environ["FOLLOWUP_RUN_PROJECTIONS"] = "true" if projections else "false"
    get_settings.cache_clear()
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers)


if __name__ == "__main__":
    app()
