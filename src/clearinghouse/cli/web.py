"""``clearinghouse web``: password users of the web interface.

The pages themselves need no command of their own: ``clearinghouse serve`` serves them in the
same app as the API (sign in there with an API token, or as a user made here). A password is
never an argument (it would sit in the shell history and the process list): it is read from
standard input when that is not a terminal (one line), else prompted for twice.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from clearinghouse.access.roles import Role, parse_enum
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.cli.disclosure import cli_runtime
from clearinghouse.cli.output import emit
from clearinghouse.core.errors import InputError
from clearinghouse.web import auth

web_app = typer.Typer(help="The web interface: its password users.", no_args_is_help=True)
user_app = typer.Typer(help="Users who sign in with a password.", no_args_is_help=True)
web_app.add_typer(user_app, name="user")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _read_password() -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        given = line.removesuffix("\n").removesuffix("\r")
        if not given:
            raise InputError("password: standard input is empty (give one line)")
        return given
    prompted: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return prompted


@user_app.command("add")
def user_add(
    username: Annotated[
        str, typer.Argument(help="Login name (lowercase letters, digits, . _ @ -).")
    ],
    org: Annotated[str, typer.Option(help="The organization the user acts for.")],
    role: Annotated[str, typer.Option(help="|".join(r.value for r in Role))],
    as_json: JsonFlag = False,
) -> None:
    """Add a user; the password comes from standard input, or a prompt (never an argument)."""
    user_role = parse_enum(Role, role, field="role")
    auth.normalize_username(username)  # refuse a bad name before asking for a password
    password = _read_password()
    rt = cli_runtime()
    doc = auth.create_user(
        rt.db,
        actor=LOCAL_ADMIN,
        username=username,
        organization=org,
        role=user_role,
        password=password,
        clock=rt.clock,
    )
    emit(doc, as_json=as_json)


@user_app.command("disable")
def user_disable(
    username: Annotated[str, typer.Argument(help="Login name.")], as_json: JsonFlag = False
) -> None:
    """Disable a user: it can no longer sign in, and its open sessions end at once."""
    rt = cli_runtime()
    emit(
        auth.disable_user(rt.db, actor=LOCAL_ADMIN, username=username, clock=rt.clock),
        as_json=as_json,
    )


@user_app.command("list")
def user_list(as_json: JsonFlag = False) -> None:
    """Users and their organizations, roles and state."""
    emit(
        auth.list_users(cli_runtime().db),
        as_json=as_json,
        columns=["username", "organization", "role", "created_at", "disabled_at"],
    )
