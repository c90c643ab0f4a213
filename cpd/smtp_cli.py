"""``cpd smtp hash-password USER``: a line for the ``CPD_SMTP_AUTH_USERS`` file.

The password is read without echo from the terminal (asked twice), or as the first line of
standard input when that is not a terminal (``printf '%s\\n' "$PW" | cpd smtp hash-password
mx``). It prints ``USER:scrypt$N$r$p$salt$key`` and nothing else; the password is never
printed or logged.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from cpd.mail_ingest.passwords import hash_password

smtp_app = typer.Typer(help="The inbound SMTP listener's AUTH users.", no_args_is_help=True)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            typer.echo("cpd: error: the passwords differ", err=True)
            raise typer.Exit(2)
        return first
    return sys.stdin.readline().rstrip("\r\n")


@smtp_app.command("hash-password")
def hash_password_command(
    user: Annotated[str, typer.Argument(help="the user name the relay logs in with")],
) -> None:
    """Print a ``user:hash`` line for CPD_SMTP_AUTH_USERS (password from stdin, no echo)."""
    if not user.strip() or ":" in user or any(ch.isspace() for ch in user):
        typer.echo("cpd: error: USER must be one word without ':'", err=True)
        raise typer.Exit(2)
    password = _read_password()
    if not password:
        typer.echo("cpd: error: empty password", err=True)
        raise typer.Exit(2)
    typer.echo(f"{user}:{hash_password(password)}")
