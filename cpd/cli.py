"""The ``cpd`` command line (typer). Every user mistake is one line on stderr and exit 2."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlalchemy.exc import InterfaceError, OperationalError

from cpd import bounce_cli, cli_events, cli_nudges, cli_ops, rules
from cpd.claims import members as member_admin
from cpd.claims.standing import standing
from cpd.claims.texts import amount, balance_sentence
from cpd.cli_common import (
    UserError,
    database_problem,
    date_option,
    fail,
    open_engine,
    read_input,
    settings,
    write_output,
)
from cpd.mail_cli import mail_app
from cpd.rules.values import number
from cpd.settings import SettingsError, check_config_file
from cpd.smtp_cli import smtp_app
from cpd.web_wiring import web_app

if TYPE_CHECKING:
    from cpd.nlp.extract import Extractor

app = typer.Typer(
    name="cpd",
    help="CPD Claims Assistant: members claim CPD points in chat or by mail.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
rules_app = typer.Typer(help="Evaluate claims under a scheme.", no_args_is_help=True)
members_app = typer.Typer(help="Import, invite and show members.", no_args_is_help=True)
schemes_app = typer.Typer(help="The schemes this installation knows.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(members_app, name="members")
app.add_typer(schemes_app, name="schemes")
app.add_typer(mail_app, name="mail")
app.add_typer(smtp_app, name="smtp")
app.add_typer(web_app, name="web")


_settings = settings
_engine = open_engine
_read_input = read_input
_date_option = date_option


@rules_app.command("evaluate")
def rules_evaluate(
    input: Annotated[str, typer.Option("--input", "-i", help="JSON file, or - for stdin")],
) -> None:
    """Evaluate the claims in FILE and print the standing as JSON."""
    text = _read_input(input)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{input}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    typer.echo(json.dumps(rules.evaluate_document(document), indent=2))


@members_app.command("import")
def members_import(
    file: Annotated[
        Path, typer.Argument(help="CSV: membership_no,name,email,scheme,grade,joined,role")
    ],
) -> None:
    """Create or update members from a CSV file (idempotent on membership_no)."""
    settings = _settings()
    text = _read_input(str(file))
    rows = member_admin.parse_members_csv(text, settings.scheme, source=file.name)
    report = member_admin.import_members(_engine(settings), rows, source=file.name)
    typer.echo(
        f"{len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged"
    )


@members_app.command("invite")
def members_invite(membership_no: str) -> None:
    """Print a one-time token that links a Telegram user to the member (/start TOKEN)."""
    settings = _settings()
    token, expires = member_admin.create_invite(
        _engine(settings), membership_no, dt.timedelta(days=settings.invite_days)
    )
    typer.echo(token)
    if settings.telegram_bot_name:
        typer.echo(f"https://t.me/{settings.telegram_bot_name}?start={token}")
    typer.echo(f"valid until {expires:%Y-%m-%d %H:%M} UTC, once", err=True)


@members_app.command("show")
def members_show(
    membership_no: str,
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default today)")] = None,
) -> None:
    """Show a member's balance now, with the reason for every number."""
    settings = _settings()
    day = _date_option(as_of, "--as-of")
    result = standing(_engine(settings), membership_no, day)
    member, scheme, ev = result.member, result.scheme, result.evaluation
    typer.echo(f"{member.membership_no}  {member.name}  <{member.email or 'no email'}>")
    if (bounced := bounce_cli.bounce_line(_engine(settings), member)) is not None:
        typer.echo(bounced)
    typer.echo(
        f"{scheme.short_name} ({scheme.name}), grade {member.grade or '-'}, "
        f"joined {member.joined}, role {member.role}"
    )
    typer.echo(
        f"Period {ev.period_start} to {ev.period_end}: target "
        f"{amount(ev.target, scheme.unit)}, carried in {number(ev.carried_in)}, "
        f"earned {number(ev.earned)}, total {number(ev.total)}"
    )
    typer.echo(balance_sentence(scheme, ev))
    if ev.carry_out:
        typer.echo(f"Would carry {amount(ev.carry_out, scheme.unit)} into the next period.")
    if not result.claims:
        typer.echo("No claims yet.")
        return
    typer.echo("Claims:")
    by_id = {str(c.id): c for c in result.claims}
    for res in ev.claims:
        claim = by_id[res.id]
        mark = "+" if res.counted else " "
        typer.echo(
            f" {mark} {claim.start_date}  {claim.status:<10} {number(res.points):>5}  "
            f"{(claim.title or claim.kind)[:40]:<40}  {res.note}{_mail_sender(claim)}"
        )


def _mail_sender(claim: Any) -> str:
    """The sender verdict of a claim by mail, for ``members show`` ("" for other channels)."""
    verdict = getattr(claim, "verification", None)
    if not verdict:
        return ""
    held = " (held until the member confirms it)" if claim.status == "unverified" else ""
    domain = f" {claim.verification_domain}" if claim.verification_domain else ""
    return f"  [mail sender: {verdict}{domain}]{held}"


@schemes_app.command("list")
def schemes_list() -> None:
    """List the schemes with a file."""
    for scheme_id in rules.scheme_ids():
        scheme = rules.load_scheme(scheme_id)
        typer.echo(
            f"{scheme.id:<6} {scheme.short_name:<6} {scheme.name} "
            f"(target {number(scheme.target)} {scheme.unit}, {scheme.period.kind})"
        )


@schemes_app.command("show")
def schemes_show(scheme_id: str) -> None:
    """Print one scheme's rules as JSON."""
    typer.echo(json.dumps(rules.load_scheme(scheme_id).model_dump(mode="json"), indent=2))


@app.command("run")
def run() -> None:
    """Run the bot, mail listener, IMAP poller, outbound mail and nudges in one process."""
    from cpd.redact import redact
    from cpd.run import NothingToRun, StartupError
    from cpd.run import run as run_everything

    try:
        run_everything(_settings())
    except (NothingToRun, StartupError, SettingsError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        fail(redact(message))


@app.command("classify")
def classify(
    text: Annotated[str | None, typer.Argument(help="the message to classify")] = None,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="JSON lines on stdin")] = False,
    today: Annotated[str | None, typer.Option("--today", help="YYYY-MM-DD")] = None,
) -> None:
    """Print the activity extracted from TEXT as JSON (or one JSON line per input line)."""
    default_day = _date_option(today, "--today")
    if jsonl == (text is not None):
        raise UserError("give either TEXT or --jsonl (JSON lines on stdin), not both")
    from cpd.nlp import load_extractor

    extractor = load_extractor()
    if text is not None:
        typer.echo(json.dumps(extractor.extract(text, default_day).to_json(), ensure_ascii=False))
        return
    _classify_lines(extractor, default_day)


def _classify_lines(extractor: Extractor, default_day: dt.date, batch: int = 256) -> None:
    """Batch mode: read {"id", "text", "today"?} lines, write one result line per input."""
    pending: list[tuple[object, str, dt.date]] = []

    def flush() -> None:
        results = extractor.extract_many([(t, d) for _, t, d in pending])
        for (line_id, _, _), activity in zip(pending, results, strict=True):
            sys.stdout.write(
                json.dumps({"id": line_id, **activity.to_json()}, ensure_ascii=False) + "\n"
            )
        pending.clear()

    for line_no, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"stdin line {line_no}: malformed JSON: {exc.msg}") from None
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise UserError(f'stdin line {line_no}: expected {{"id", "text", "today"?}}')
        day = (
            _date_option(item["today"], f"line {line_no} today")
            if item.get("today")
            else (default_day)
        )
        pending.append((item.get("id"), item["text"], day))
        if len(pending) >= batch:
            flush()
    if pending:
        flush()


nlp_app = typer.Typer(help="The NLP pipeline.", no_args_is_help=True)
app.add_typer(nlp_app, name="nlp")


@nlp_app.command("train")
def nlp_train(
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="where to save (default: the shipped model directory)"),
    ] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    force: Annotated[
        bool, typer.Option("--force", help="replace what is in an existing -o directory")
    ] = False,
) -> None:
    """Rebuild the pipeline from the shipped corpus (fixed seed) and print its scores.

    Without -o it rebuilds the shipped model in place; an -o that exists is replaced only
    with --force (and never when it is a file)."""
    from cpd.nlp.extract import DEFAULT_MODEL_DIR
    from cpd.nlp.training import train

    if output is not None:
        if output.exists() and not output.is_dir():
            raise UserError(f"-o {output}: is a file; give a directory for the pipeline")
        if output.is_dir() and any(output.iterdir()) and not force:
            raise UserError(f"-o {output}: already exists; --force replaces it")
        if not output.parent.is_dir():
            raise UserError(f"-o {output}: no directory {output.parent}")
    try:
        scores = train(output or DEFAULT_MODEL_DIR, seed=seed)
    except OSError as exc:
        raise UserError(f"cannot write the pipeline to {exc.filename}: {exc.strerror}") from None
    typer.echo(json.dumps(scores, indent=2))


@app.command("export")
def export(
    member: Annotated[str, typer.Option("--member", help="membership number")],
    format: Annotated[str, typer.Option("--format", help="csv or pdf")] = "csv",
    period: Annotated[str, typer.Option("--period", help="current or all")] = "current",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="file (default: stdout for csv)")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default today)")] = None,
) -> None:
    """Export a member's records (activities, points, reflections, decisions, evidence)."""
    from cpd.claims.records import member_records, to_csv, to_pdf

    if format not in ("csv", "pdf"):
        raise UserError(f"--format must be csv or pdf, not {format!r}")
    if period not in ("current", "all"):
        raise UserError(f"--period must be current or all, not {period!r}")
    if format == "pdf" and output is None:
        raise UserError("a PDF needs -o FILE")
    if output is not None and not output.parent.is_dir():
        raise UserError(f"cannot write {output}: no directory {output.parent}")
    settings = _settings()
    records = member_records(_engine(settings), member, period, _date_option(as_of, "--as-of"))
    if format == "csv":
        text = to_csv(records)
        if output is None:
            sys.stdout.write(text)
            return
        write_output(output, text)
    else:
        assert output is not None
        write_output(output, to_pdf(records))
    typer.echo(f"wrote {output} ({len(records.rows)} activities)", err=True)


audit_app = typer.Typer(help="CPD audits.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
audit_app.command("sample")(cli_ops.audit_sample_command)
app.command("period-end")(cli_ops.period_end)
members_app.command("bouncing")(bounce_cli.members_bouncing)
app.command("purge")(cli_ops.purge)
nudges_app = typer.Typer(
    help="Progress nudges, countdowns and duty reminders.", no_args_is_help=True
)
app.add_typer(nudges_app, name="nudges")
nudges_app.command("send")(cli_nudges.send)
app.add_typer(cli_events.events_app, name="events")
app.add_typer(cli_events.followups_app, name="followups")


@app.command("standings")
def standings(
    scheme: Annotated[str | None, typer.Option("--scheme", help="only this scheme")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default today)")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """CSV of every member's standing (for the secretary)."""
    from cpd.claims.records import standings_csv

    if scheme is not None:
        rules.load_scheme(scheme)
    if output is not None and not output.parent.is_dir():
        raise UserError(f"cannot write {output}: no directory {output.parent}")
    settings = _settings()
    text = standings_csv(_engine(settings), _date_option(as_of, "--as-of"), scheme)
    if output is None:
        sys.stdout.write(text)
    else:
        write_output(output, text)


def _usage_line(exc: typer.TyperException) -> str:
    format_message = getattr(exc, "format_message", None)
    message = " ".join((format_message() if format_message else str(exc)).split())
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        message += f" (see {ctx.command_path} --help)"
    return message


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``cpd`` console script: every user mistake is one line, exit 2."""
    from cpd.claims.members import MemberNotFound

    try:
        check_config_file()  # for every command, also those that read no other setting
        code = app(args=argv, prog_name="cpd", standalone_mode=False)
    except typer.Abort:
        typer.echo("cpd: stopped", err=True)
        sys.exit(130)
    except typer.TyperException as exc:  # typer's own click: a usage error
        if type(exc).__name__ == "NoArgsIsHelpError":  # `cpd members`: the help (rich has
            text = exc.format_message()  # printed it already and returns "")
            if text.strip():
                typer.echo(text)
        else:
            typer.echo(f"cpd: error: {_usage_line(exc)}", err=True)
        sys.exit(getattr(exc, "exit_code", 2) or 2)
    except (UserError, SettingsError, rules.InputError, rules.SchemeError, MemberNotFound) as exc:
        message = str(exc.args[0]) if exc.args else str(exc)
        typer.echo(
            f"cpd: error: {message.splitlines()[0] if message else type(exc).__name__}", err=True
        )
        sys.exit(2)
    except (OperationalError, InterfaceError) as exc:  # the database went away mid-command
        typer.echo(f"cpd: error: {database_problem(settings(), exc)}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
