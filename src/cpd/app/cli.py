"""The ``cpd`` command line (typer). Every user mistake is one line on stderr and exit 2."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from cpd import rules
from cpd.app.mail_cli import mail_app
from cpd.app.settings import Settings, SettingsError, load_settings
from cpd.claims import members as member_admin
from cpd.claims.standing import standing
from cpd.claims.texts import amount, balance_sentence
from cpd.rules.values import number

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


class UserError(Exception):
    """A mistake in what the user asked: printed as one line, exit 2."""


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``cpd: error: message`` to stderr and exit."""
    typer.echo(f"cpd: error: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    return load_settings()


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
    from cpd.storage import make_engine, migrate

    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    return engine


def _read_input(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None


def _date_option(value: str | None, name: str) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{name}: {value!r} is not a date (use YYYY-MM-DD)") from None


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
    report = member_admin.import_members(_engine(settings), rows)
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
            f" {mark} {claim.start_date}  {claim.status:<9} {number(res.points):>5}  "
            f"{(claim.title or claim.kind)[:40]:<40}  {res.note}"
        )


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
    from cpd.app.run import NothingToRun
    from cpd.app.run import run as run_everything

    try:
        run_everything(_settings())
    except NothingToRun as exc:
        fail(str(exc))


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


def _classify_lines(extractor, default_day: dt.date, batch: int = 256) -> None:  # type: ignore[no-untyped-def]
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
) -> None:
    """Rebuild the pipeline from the shipped corpus (fixed seed) and print its scores."""
    from cpd.nlp.extract import DEFAULT_MODEL_DIR
    from cpd.nlp.training import train

    scores = train(output or DEFAULT_MODEL_DIR, seed=seed)
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
    settings = _settings()
    records = member_records(_engine(settings), member, period, _date_option(as_of, "--as-of"))
    if format == "csv":
        text = to_csv(records)
        if output is None:
            sys.stdout.write(text)
            return
        output.write_text(text, encoding="utf-8")
    else:
        assert output is not None
        output.write_bytes(to_pdf(records))
    typer.echo(f"wrote {output} ({len(records.rows)} activities)", err=True)


audit_app = typer.Typer(help="CPD audits.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("sample")
def audit_sample_command(
    scheme: Annotated[str, typer.Option("--scheme")],
    cycle: Annotated[int, typer.Option("--cycle", help="the year the cycle started")],
    fraction: Annotated[float | None, typer.Option("--fraction", help="share to select")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="redraw a logged sample")] = None,
) -> None:
    """Select members at random for the CPD audit of a cycle and email them the instructions."""
    from cpd.claims.period_end import audit_sample

    settings = _settings()
    chosen = rules.load_scheme(scheme)
    share = (
        fraction
        if fraction is not None
        else (chosen.audit.default_fraction if chosen.audit else None)
    )
    if share is None or not 0 < share <= 1:
        raise UserError("--fraction must be above 0 and at most 1")
    sample = audit_sample(_engine(settings), scheme, cycle, share, seed)
    typer.echo(
        json.dumps(
            {
                "scheme": sample.scheme,
                "cycle": sample.cycle,
                "seed": sample.seed,
                "fraction": sample.fraction,
                "eligible": sample.eligible,
                "selected": sample.selected,
            },
            indent=2,
        )
    )


@app.command("period-end")
def period_end(
    now: Annotated[str | None, typer.Option("--now", help="ISO date-time (default: now)")] = None,
) -> None:
    """Tell members whose period ended yesterday where they finished; draw IMI audits.

    `cpd run` does this every night; running it again changes nothing."""
    from cpd.claims.period_end import close_periods

    settings = _settings()
    moment = dt.datetime.now(dt.UTC)
    if now is not None:
        try:
            moment = dt.datetime.fromisoformat(now)
        except ValueError:
            raise UserError(f"--now: {now!r} is not an ISO date-time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=settings.zone)
    report = close_periods(_engine(settings), moment, settings.zone)
    typer.echo(
        f"periods closing on {report.closing_day}: {len(report.told)} member(s) told"
        + "".join(
            f"; audit {a.scheme} {a.cycle}: {len(a.selected)} selected (seed {a.seed})"
            for a in report.audits
        )
    )


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
    settings = _settings()
    text = standings_csv(_engine(settings), _date_option(as_of, "--as-of"), scheme)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def main() -> None:
    """Entry point of the ``cpd`` console script."""
    from cpd.claims.members import MemberNotFound

    try:
        app(standalone_mode=True)
    except (UserError, SettingsError, rules.InputError, rules.SchemeError, MemberNotFound) as exc:
        message = str(exc.args[0]) if exc.args else str(exc)
        typer.echo(
            f"cpd: error: {message.splitlines()[0] if message else type(exc).__name__}", err=True
        )
        sys.exit(2)
