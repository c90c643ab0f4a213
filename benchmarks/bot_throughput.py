"""Throughput of the Telegram bot (`cpd run`) against the local Bot API server.

    python benchmarks/bot_throughput.py [--members 1000] [--nudges 3000] [--skip-echo]
        [--skip-claims] [--skip-nudges] [--no-unthrottled]

Two measurements, each on its own temporary data directory and its own ``FakeTelegramServer``
(tests/support/telegram_api.py, a real aiohttp server in a thread of this process); `cpd run`
and the echo bot run as separate processes, as in production.

1. Claims end to end (server rate limits OFF: this part measures processing, not Telegram's
   limits). ``--members`` members are imported, invited and linked by sending ``/start <token>``
   through the server; then each sends one claim text at once. Measured from the first injected
   claim until every member has received their draft card ("here is what I understood"):
   claims/s. Then a bare python-telegram-bot echo bot (same server, ``concurrent_updates(8)``
   and the same rate limiter as the product: like for like) gets the same number of texts
   from the same users: messages/s. Bar: claims/s >= 0.3 x echo messages/s. Diagnostic
   (``--no-unthrottled`` to skip): both again with the limiter's overall limit off, which
   separates the 28/s send pacing from the processing cost.
2. Weekly nudges (server rate limits ON: 30/s overall, 1/s per private chat). ``--nudges``
   members, linked directly in the database with ``ClaimsService.link_telegram``, all behind
   target; ``ClaimsService.queue_nudges`` puts the nudges in the outbox, then `cpd run` delivers
   them. Measured: messages/s from the first to the last nudge received, the fraction of the
   30/s limit (bar >= 0.9) and the 429 answers the server sent (bar: 0).

Diagnostic variants are labelled as such in the output; no product code is changed.
A default run takes about 4 minutes on 2 cores.

Prints one block of figures at the end; exit status 0 (it reports, it does not gate).
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # for tests.support when run as a script
    sys.path.insert(0, str(ROOT))

from tests.support.cpd_run import cpd_run_env  # noqa: E402
from tests.support.telegram_api import Call, FakeTelegramServer  # noqa: E402

TOKEN = "123456:BENCH-token_for-throughput"
SECRETARY_CHAT = -100777
FIRST_USER = 10_000_000
CONCURRENT_UPDATES = 8  # cpd.bot.config.BotConfig.concurrent_updates
LIMIT_PER_SECOND = 30  # the server's (and Telegram's) overall limit
BARS = {"claims_vs_echo": 0.3, "nudge_fraction": 0.9, "nudge_429": 0}
DRAFT_MARK = "here is what I understood"

# A diagnostic variant of `cpd run` (NOT the product as shipped), run before its CLI starts:
# UNTHROTTLED drops the rate limiter's overall limit, to see the processing ceiling.
UNTHROTTLED = """
import telegram.ext as ext
import cpd.bot.application as app
class _Limiter(ext.AIORateLimiter):
    def __init__(self, **kwargs):
        super().__init__(**{**kwargs, "overall_max_rate": 0})
app.AIORateLimiter = _Limiter
"""

_WHAT = [
    "boat show",
    "hull survey webinar",
    "marine insurance seminar",
    "IIMS conference",
    "yacht survey course",
    "read an article on osmosis",
    "site visit to the boatyard",
    "mentoring call with a trainee",
    "paint inspection workshop",
    "online course on ISM",
]
_WHEN = ["today", "yesterday", "on Tuesday", "last Friday", ""]
_HOW_LONG = ["2 hours", "3 hrs", "1h30", "half a day", "90 min", "4 hours", "2.5 hours"]


# ----------------------------------------------------------------------------- helpers


def claim_texts(n: int, seed: int = 7) -> list[str]:
    """``n`` varied claim messages, "boat show today 2 hours" style."""
    rng = random.Random(seed)
    return [
        " ".join(w for w in (rng.choice(_WHAT), rng.choice(_WHEN), rng.choice(_HOW_LONG)) if w)
        for _ in range(n)
    ]


def members_csv(n: int) -> str:
    """A members CSV of ``n`` IIMS members, all behind target (joined years ago, no claims)."""
    lines = ["membership_no,name,email,scheme,grade,joined,role"]
    lines += [
        f"B{i:05d},Bench Member {i},b{i}@example.com,iims,member,2019-05-01,member"
        for i in range(n)
    ]
    return "\n".join(lines) + "\n"


def prepare_members(data_dir: Path, n: int) -> list[str]:
    """Import ``n`` members into a fresh database; one invite token each, in order."""
    from cpd.claims.members import create_invite, import_members, parse_members_csv
    from cpd.storage import make_engine, migrate

    engine = make_engine(f"sqlite:///{data_dir / 'cpd.sqlite3'}")
    migrate(engine)
    rows = parse_members_csv(members_csv(n), "iims")
    import_members(engine, rows)
    tokens = [create_invite(engine, r.membership_no, dt.timedelta(days=1))[0] for r in rows]
    engine.dispose()
    return tokens


def cpd_env(server: FakeTelegramServer, data_dir: Path) -> dict[str, str]:
    """The environment for `cpd run` (no CPD_* variable of ours leaks in)."""
    return cpd_run_env(server, data_dir, TOKEN, SECRETARY_CHAT)


def new_server(rate_limits: bool, users: Iterable[int]) -> FakeTelegramServer:
    server = FakeTelegramServer(rate_limits=rate_limits)
    server.start_in_thread()
    for user in users:
        server.add_user(user, f"User{user}")
    server.add_group(SECRETARY_CHAT, "CPD secretaries")
    return server


@dataclass
class Bot:
    """A bot process polling the server; stopped with SIGTERM."""

    args: list[str]
    env: dict[str, str]
    cwd: Path
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=Path)

    def start(self, server: FakeTelegramServer, timeout: float = 60.0) -> None:
        """Start and wait until it has asked for updates (deleteWebhook precedes polling)."""
        self.log = self.cwd / f"bot-{time.monotonic_ns()}.log"
        mark = len(server.sent)
        with self.log.open("wb") as handle:
            self.process = subprocess.Popen(
                self.args, env=self.env, stdout=handle, stderr=subprocess.STDOUT, cwd=self.cwd
            )
        try:
            server.wait_for(lambda c: c.method == "deleteWebhook", timeout=timeout, after=mark)
        except TimeoutError:
            raise SystemExit(f"bot did not start:\n{self.log.read_text()[-3000:]}") from None
        time.sleep(0.3)  # let the first getUpdates arrive

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=30)
        finally:
            self.process = None


@contextlib.contextmanager
def running(bot: Bot, server: FakeTelegramServer) -> Iterator[Bot]:
    """The bot started against ``server`` for the block, stopped with SIGTERM after it."""
    bot.start(server)
    try:
        yield bot
    finally:
        if bot.process is not None:
            bot.stop()


def cpd_run(server: FakeTelegramServer, data_dir: Path, patch: str = "") -> Bot:
    """`cpd run` as a subprocess; ``patch`` is Python run first (diagnostic variants only)."""
    args = [sys.executable, "-c", patch + "from cpd.cli import main; main()", "run"]
    return Bot(args, cpd_env(server, data_dir), data_dir)


def collect(
    server: FakeTelegramServer,
    after: int,
    match: Callable[[Call], bool],
    want: int,
    timeout: float,
) -> dict[int, Call]:
    """Wait until ``want`` distinct chats got a matching call in ``sent[after:]``; the first
    matching call per chat (fewer if ``timeout`` passes first)."""
    found: dict[int, Call] = {}
    seen, deadline = after, time.monotonic() + timeout
    while len(found) < want and time.monotonic() < deadline:
        fresh = server.sent[seen:]
        seen += len(fresh)
        for c in fresh:
            if isinstance(c.chat_id, int) and c.chat_id not in found and match(c):
                found[c.chat_id] = c
        if len(found) < want:
            time.sleep(0.02)
    return found


def is_text_to(chats: set[int], words: str = "") -> Callable[[Call], bool]:
    return lambda c: c.method == "sendMessage" and c.chat_id in chats and words in (c.text or "")


def rate(calls: Iterable[Call], since: float | None = None) -> tuple[float, float]:
    """(messages per second, seconds) from ``since`` (or the first call) to the last call."""
    times = sorted(c.time for c in calls)
    if not times:
        return 0.0, 0.0
    start = times[0] if since is None else since
    span = times[-1] - start
    n = len(times) - (1 if since is None else 0)
    return (n / span if span > 0 else float("inf")), span


# ----------------------------------------------------------------------------- part 1


@dataclass
class ClaimsRun:
    """One wave of claims: every member sends one text, each waits for their draft card."""

    drafts: int = 0
    seconds: float = 0.0
    per_s: float = 0.0
    sends_per_claim: float = 0.0  # bot messages to members per claim (cards, questions)
    sends_per_s: float = 0.0
    other_replies: Counter[str] = field(default_factory=Counter)


@dataclass
class ClaimsResult:
    members: int
    link_s: float = 0.0
    shipped: ClaimsRun = field(default_factory=ClaimsRun)
    unthrottled: ClaimsRun | None = None
    echoed: int = 0
    echo_s: float = 0.0
    echo_per_s: float = 0.0
    echo_free_per_s: float = 0.0


def claims_wave(
    server: FakeTelegramServer, users: list[int], texts: list[str], timeout: float
) -> ClaimsRun:
    """Inject one claim text per user at once; measure until every draft card has arrived."""
    chats, run = set(users), ClaimsRun()
    mark, t0 = len(server.sent), time.monotonic()
    for user, text in zip(users, texts, strict=True):
        server.send_text(user, text)
    drafts = collect(server, mark, is_text_to(chats, DRAFT_MARK), len(users), timeout)
    run.drafts = len(drafts)
    run.per_s, run.seconds = rate(drafts.values(), since=t0)
    time.sleep(0.5)  # let trailing questions ("What kind of activity was it?") arrive
    sends = [c for c in server.sent[mark:] if is_text_to(chats)(c)]
    last_card = max((c.time for c in drafts.values()), default=t0)
    in_span = sum(1 for c in sends if c.time <= last_card)
    run.sends_per_claim = len(sends) / max(run.drafts, 1)
    run.sends_per_s = in_span / run.seconds if run.seconds else 0.0
    for c in sends:
        if c.chat_id not in drafts:
            run.other_replies[(c.text or c.method)[:60]] += 1
    return run


def bench_claims(n: int, with_echo: bool, unthrottled: bool, timeout: float) -> ClaimsResult:
    users = [FIRST_USER + i for i in range(n)]
    chats, result = set(users), ClaimsResult(n)
    with tempfile.TemporaryDirectory(prefix="cpd-bench-claims-") as tmp:
        data_dir = Path(tmp) / "data"
        tokens = prepare_members(data_dir, n)
        server = new_server(rate_limits=False, users=users)
        try:
            with running(cpd_run(server, data_dir), server):
                mark, t0 = len(server.sent), time.monotonic()
                for user, token in zip(users, tokens, strict=True):
                    server.send_text(user, f"/start {token}")
                linked = collect(server, mark, is_text_to(chats, "Welcome"), n, timeout)
                result.link_s = time.monotonic() - t0
                if len(linked) < n:
                    raise SystemExit(f"only {len(linked)} of {n} members linked")
                time.sleep(1.5)  # an idle second: the rate limiter's bucket is empty again
                result.shipped = claims_wave(server, users, claim_texts(n), timeout)

            if with_echo:
                for limited in (True, False) if unthrottled else (True,):
                    echo_args = [sys.executable, str(Path(__file__).resolve()), "--echo-bot"]
                    echo_args += [server.api_url, server.file_url]
                    env = {
                        **cpd_env(server, data_dir),
                        "ECHO_WITH_LIMITER": "1" if limited else "0",
                    }
                    echo = Bot(echo_args, env, Path(tmp))
                    with running(echo, server):
                        mark, t0 = len(server.sent), time.monotonic()
                        for user in users:
                            server.send_text(user, f"echo {user} {limited}")
                        echoed = collect(server, mark, is_text_to(chats, "echo "), n, timeout)
                        per_s, seconds = rate(echoed.values(), since=t0)
                    if limited:
                        result.echoed = len(echoed)
                        result.echo_per_s, result.echo_s = per_s, seconds
                    else:
                        result.echo_free_per_s = per_s

            if unthrottled:  # diagnostic: the same bot without its 30/s overall limiter
                with running(cpd_run(server, data_dir, UNTHROTTLED), server):
                    texts = claim_texts(n, seed=8)
                    result.unthrottled = claims_wave(server, users, texts, timeout)
        finally:
            server.stop_thread()
    return result


def run_echo_bot(api_url: str, file_url: str) -> None:
    """The bare echo bot (child process): replies with the text, concurrent_updates(8)."""
    from telegram import Update
    from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None and message.text:
            await message.reply_text(message.text)

    builder = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(api_url)
        .base_file_url(file_url)
        .concurrent_updates(CONCURRENT_UPDATES)
    )
    if os.environ.get("ECHO_WITH_LIMITER") == "1":  # like for like: the product's limiter
        from cpd.bot.application import make_rate_limiter

        builder = builder.rate_limiter(make_rate_limiter(10))
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.run_polling(allowed_updates=Update.ALL_TYPES, close_loop=False)


# ----------------------------------------------------------------------------- part 2


@dataclass
class NudgeResult:
    members: int
    patched: bool = False
    setup_s: float = 0.0
    queue_s: float = 0.0
    queued: int = 0
    delivered: int = 0
    first_to_last_s: float = 0.0
    per_s: float = 0.0
    busiest_second: int = 0
    gaps: list[float] = field(default_factory=list)
    rate_limited: int = 0
    rejected: Counter[int] = field(default_factory=Counter)


def link_directly(data_dir: Path, tokens: list[str], users: list[int]) -> None:
    """Link every member to a Telegram user with ``ClaimsService.link_telegram``."""
    from cpd.run import build_service
    from cpd.settings import load_settings

    service = build_service(load_settings(data_dir=data_dir))
    for token, user in zip(tokens, users, strict=True):
        service.link_telegram(token, user)
    service.engine.dispose()


def queue_nudges(data_dir: Path) -> int:
    """``ClaimsService.queue_nudges`` through ``build_service``: how many landed in the outbox."""
    from cpd.run import build_service
    from cpd.settings import load_settings

    service = build_service(load_settings(data_dir=data_dir))
    count = service.queue_nudges()
    service.engine.dispose()
    return count


def bench_nudges(n: int, timeout: float, patch: str = "") -> NudgeResult:
    users = [FIRST_USER + i for i in range(n)]
    chats, result = set(users), NudgeResult(n, patched=bool(patch))
    with tempfile.TemporaryDirectory(prefix="cpd-bench-nudges-") as tmp:
        data_dir = Path(tmp) / "data"
        t0 = time.monotonic()
        tokens = prepare_members(data_dir, n)
        link_directly(data_dir, tokens, users)
        result.setup_s = time.monotonic() - t0
        t0 = time.monotonic()
        result.queued = queue_nudges(data_dir)
        result.queue_s = time.monotonic() - t0
        server = new_server(rate_limits=True, users=users)
        try:
            mark = len(server.sent)
            with running(cpd_run(server, data_dir, patch), server):
                budget = result.queued / LIMIT_PER_SECOND * 2 + timeout
                match = is_text_to(chats, "CPD progress")
                got = collect(server, mark, match, result.queued, budget)
        finally:
            server.stop_thread()
        calls = sorted(got.values(), key=lambda c: c.time)
        result.delivered = len(calls)
        result.per_s, result.first_to_last_s = rate(calls)
        times = [c.time for c in calls]
        result.gaps = sorted((b - a for a, b in zip(times, times[1:], strict=False)), reverse=True)
        result.busiest_second = max(
            (bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0
        )
        result.rate_limited = server.rate_limited_count
        result.rejected = Counter(c.status for c in server.rejected)
    return result


# ----------------------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def claims_lines(run: ClaimsRun, members: int) -> list[str]:
    lines = [
        f"   draft cards received          {run.drafts:>7} / {members}   in {run.seconds:.1f} s",
        f"   claims/s                      {run.per_s:>7.1f}",
        f"   bot messages per claim        {run.sends_per_claim:>7.2f}   (card + any question)",
        f"   bot messages/s to members     {run.sends_per_s:>7.1f}",
    ]
    if run.other_replies:
        extra = ", ".join(f"{k!r} x{v}" for k, v in run.other_replies.most_common(3))
        lines.append(f"   replies without a draft card: {extra}")
    return lines


def nudge_lines(r: NudgeResult) -> list[str]:
    fraction = r.per_s / LIMIT_PER_SECOND
    pauses = [g for g in r.gaps if g > 0.2]
    longest = ", ".join(f"{g:.2f}" for g in r.gaps[:3])
    bar_f, bar_429 = BARS["nudge_fraction"], BARS["nudge_429"]
    return [
        f"   members linked in the db      {r.members:>7}   setup {r.setup_s:.1f} s, "
        f"queue_nudges {r.queue_s:.1f} s",
        f"   nudges queued / delivered     {r.queued:>7} / {r.delivered}",
        f"   first to last nudge           {r.first_to_last_s:>7.1f} s",
        f"   nudges/s                      {r.per_s:>7.1f}",
        f"   fraction of {LIMIT_PER_SECOND}/s              {fraction:>7.3f}   bar >= {bar_f}"
        f"   {verdict(fraction >= bar_f)}",
        f"   429 answers from the server   {r.rate_limited:>7}   bar = {bar_429}"
        f"       {verdict(r.rate_limited == bar_429)}",
        f"   busiest 1 s window            {r.busiest_second:>7}   nudges accepted",
        f"   pauses > 0.2 s between sends  {len(pauses):>7}   {sum(pauses):.1f} s in all;"
        f" longest {longest} s",
    ]


def report(claims: ClaimsResult | None, nudges: list[NudgeResult]) -> None:
    """The figures, as one block."""
    out = ["", "=" * 80]
    out.append("bot throughput: `cpd run` subprocess against tests/support FakeTelegramServer")
    out.append("=" * 80)
    if claims is not None:
        out.append("1. claims end to end   [server rate limits OFF: this part measures")
        out.append("   processing, not Telegram's limits; `cpd run` as shipped]")
        out.append(
            f"   members linked by /start      {claims.members:>7}   in {claims.link_s:.1f} s"
        )
        out += claims_lines(claims.shipped, claims.members)
        if claims.echoed:
            out.append(
                f"   bare PTB echo bot             {claims.echoed:>7} / {claims.members}   "
                f"in {claims.echo_s:.1f} s (concurrent_updates={CONCURRENT_UPDATES}, the "
                "product's limiter)"
            )
            out.append(f"   echo messages/s               {claims.echo_per_s:>7.1f}")
            ratio = claims.shipped.per_s / claims.echo_per_s if claims.echo_per_s else 0.0
            bar = BARS["claims_vs_echo"]
            out.append(
                f"   ratio claims/echo             {ratio:>7.3f}   bar >= {bar}    "
                f"{verdict(ratio >= bar)}"
            )
        else:
            out.append("   echo bot                      skipped")
        if claims.unthrottled is not None:
            out.append("   diagnostic, NOT as shipped: the same bot with the limiter's overall")
            out.append("   limit off (overall_max_rate=0), a second claim from every member")
            out += claims_lines(claims.unthrottled, claims.members)
            if claims.echo_free_per_s:
                out.append(f"   echo messages/s, no limiter   {claims.echo_free_per_s:>7.1f}")
                ratio = claims.unthrottled.per_s / claims.echo_free_per_s
                out.append(f"   ratio claims/echo (no limit)  {ratio:>7.3f}")
    for r in nudges:
        out.append(
            f"2. nudges   [server rate limits ON: {LIMIT_PER_SECOND}/s overall, 1/s per private "
            "chat]"
        )
        out.append("   `cpd run` as shipped")
        out += nudge_lines(r)
    out.append("=" * 80)
    print("\n".join(out))


def main(argv: list[str] | None = None) -> int:
    """Measure and print; exit status 0 (it reports, it does not gate)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=1000, help="claiming members (default 1000)")
    ap.add_argument("--nudges", type=int, default=3000, help="members nudged (default 3000)")
    ap.add_argument("--skip-claims", action="store_true", help="skip part 1")
    ap.add_argument("--skip-echo", action="store_true", help="no echo-bot comparison")
    ap.add_argument("--skip-nudges", action="store_true", help="skip part 2")
    ap.add_argument(
        "--no-unthrottled",
        action="store_true",
        help="skip the diagnostic claims wave with the bot's overall 30/s limiter off",
    )
    ap.add_argument("--timeout", type=float, default=120.0, help="wait per phase, s (120)")
    ap.add_argument("--echo-bot", nargs=2, metavar=("API_URL", "FILE_URL"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.echo_bot:
        run_echo_bot(*args.echo_bot)
        return 0
    started = time.monotonic()
    claims = None
    if not args.skip_claims:
        claims = bench_claims(
            args.members, not args.skip_echo, not args.no_unthrottled, args.timeout
        )
        print(f"part 1 done after {time.monotonic() - started:.0f} s", flush=True)
    nudges = []
    if not args.skip_nudges:
        nudges.append(bench_nudges(args.nudges, args.timeout))
        print(f"part 2 done after {time.monotonic() - started:.0f} s", flush=True)
    report(claims, nudges)
    print(f"total wall time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
