"""The one command-line entry point: `python run.py serve|migrate|create-user|reset-link|...`.

Each command maps its flags onto the application's configuration and services; no rules live here.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import click

from community.config import Config


def _run(fn: Callable[[Config], Awaitable[Any]]) -> Any:
    from community import db, settings

    cfg = Config.from_env()

    async def main() -> Any:
        await db.init(cfg.database_url)
        follower = None
        try:
            await settings.load()
            # A long-running command (escalate, mailer, digest) takes up settings changed in the console too.
            follower = asyncio.create_task(settings.follow())
            return await fn(cfg)
        finally:
            if follower is not None:
                follower.cancel()
                await asyncio.gather(follower, return_exceptions=True)
            await db.close()

    return asyncio.run(main())


@click.group()
def cli() -> None:
    """Community Q&A forum."""


@cli.command()
def migrate() -> None:
    """Create or upgrade the database schema (existing rows are kept)."""
    from community import db

    cfg = Config.from_env()
    asyncio.run(db.migrate(cfg.database_url))
    click.echo("Database is up to date.")


async def _load_demo_if_empty(cfg: Config) -> None:
    from community import demo

    if cfg.demo_data and await demo.is_empty():
        summary = await demo.load()
        click.echo(f"Loaded the demo community: {summary}")


@cli.command()
@click.option("--host", default=None, help="Address to listen on (HOST).")
@click.option("--port", type=int, default=None, help="Port (PORT).")
@click.option("--workers", type=int, default=None, help="Worker processes (WORKERS).")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Migrate, load the demo community on first start, and serve."""
    import os

    import uvicorn

    from community import db, outage, readiness

    cfg = Config.from_env()
    cfg.ensure_secret()
    try:
        asyncio.run(db.migrate(cfg.database_url))
    except Exception as exc:
        if outage.kind(exc) != outage.UNREACHABLE or cfg.database_url.startswith("sqlite"):
            raise  # SQLite's file is this host's own: a wrong path is not an outage to wait out
        # Start anyway: pages answer 503 until the database is back, then each worker migrates and gets
        # ready by itself (community/readiness.py). The demo community waits for a start with the database.
        click.echo(f"The database is unreachable ({outage.describe(exc)}): serving 503 and trying again until it is "
                   "back; the server gets ready by itself then.", err=True)
        os.environ[readiness.MIGRATE_ENV] = "1"
    else:
        _run(_load_demo_if_empty)
    host, port, workers = host or cfg.host, port or cfg.port, workers or cfg.workers
    from community import demo

    click.echo(demo.LOGIN_HELP.format(url=f"http://{host}:{port}"))
    os.environ.setdefault("SECRET_KEY", cfg.secret_key)
    os.environ.setdefault("ACCESS_LOG", "1")  # one key=value line per request (community/access_log.py)
    os.environ["WORKERS"] = str(workers)  # each worker sizes its database pool from it (community/dbpool.py)
    # proxy_headers off: uvicorn would trust X-Forwarded-For from any loopback peer; the app honours it
    # only from the proxies named in FORWARDED_ALLOW_IPS (community.app).
    uvicorn.run("community.app:create_app", factory=True, host=host, port=port, workers=workers,
                loop="uvloop", http="httptools", log_level="warning", access_log=False, proxy_headers=False)


@cli.command("create-user")
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--email", default=None)
@click.option("--role", type=click.Choice(["member", "moderator", "staff", "admin"]), default="member")
def create_user(username: str, password: str, email: str | None, role: str) -> None:
    """Create a member, moderator, staff agent or admin."""
    from community import accounts
    from community.errors import DomainError

    async def go(cfg: Config) -> None:
        try:
            user = await accounts.sign_up(username, email or f"{username.lower()}@example.com", password, role)
        except DomainError as err:
            raise click.ClickException(err.message) from None
        click.echo(f"Created {user.role} {user.username} (id {user.id}).")

    _run(go)


@cli.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(["member", "moderator", "staff", "admin"]))
def set_role(username: str, role: str) -> None:
    """Change a member's role."""
    from community import accounts
    from community.errors import DomainError

    async def go(cfg: Config) -> None:
        try:
            user = await accounts.set_role(username, role)
        except DomainError as err:
            raise click.ClickException(err.message) from None
        click.echo(f"{user.username} is now {user.role}.")

    _run(go)


@cli.command("reset-link")
@click.argument("username")
def reset_link(username: str) -> None:
    """Print a one-hour, single-use password reset link for USERNAME."""
    from community import accounts
    from community.models import User

    async def go(cfg: Config) -> None:
        user = await User.filter(username=username).first()
        if user is None:
            raise click.ClickException(f"No member is called {username!r}.")
        click.echo(accounts.reset_link(user, cfg.ensure_secret(), cfg.base_url))

    _run(go)


@cli.command("load-demo")
def load_demo() -> None:
    """Load the demo community into an empty database."""
    from community import demo

    async def go(cfg: Config) -> None:
        if not await demo.is_empty():
            raise click.ClickException("The database already has questions; the demo loads only into an empty one.")
        click.echo(f"Loaded: {await demo.load()}")

    _run(go)


@cli.command("recompute-reputation")
def recompute_reputation() -> None:
    """Rebuild every member's cached reputation from the ledger."""
    from community import reputation

    async def go(cfg: Config) -> None:
        click.echo(f"Recomputed {await reputation.recompute_all()} members.")

    _run(go)


@cli.command("recompute-badges")
def recompute_badges() -> None:
    """Award every badge the rules give over the whole history that is not yet recorded (safe to run again)."""
    from community import badges

    async def go(cfg: Config) -> None:
        counts = await badges.recompute()
        for rule in badges.RULES:
            earned, new = counts[rule.name]
            click.echo(f"{rule.title:<16} {rule.level:<7} {earned:>7} earned, {new:>6} newly recorded")
        click.echo(f"{sum(n for _, n in counts.values())} badges newly recorded.")

    _run(go)


def _need_smtp(cfg: Config) -> None:
    if not cfg.smtp_url:
        raise click.ClickException("Set SMTP_URL (e.g. smtp://user:pass@mail.example.com:587) to send mail.")


@cli.command("send-mail")
def send_mail() -> None:
    """Mail the notifications that are due, send the mail due from the outbox once, and exit (for
    cron; the server, or `mailer`, sends it too)."""
    from community import mail, notification_mail

    async def go(cfg: Config) -> None:
        _need_smtp(cfg)
        transport, total = mail.Transport.from_config(cfg), mail.Batch()
        composers = [notification_mail.composer(cfg)]
        while True:
            batch = await mail.send_once(transport, composers)
            for name in ("claimed", "sent", "retrying", "failed"):
                setattr(total, name, getattr(total, name) + getattr(batch, name))
            if batch.claimed < mail.BATCH or batch.sent == 0:
                break
        click.echo(f"Sent {total.sent} mail(s); {total.retrying} to retry later, {total.failed} given up.")

    _run(go)


@cli.command()
@click.option("--poll", type=click.FloatRange(min=0.1), default=None, help="Seconds between looks at the outbox (default 30).")
def mailer(poll: float | None) -> None:
    """Send mail as its own process: compose due notifications and deliver the outbox, with retries,
    until Ctrl-C or SIGTERM. Run the web servers with RUN_MAILER=0 (or not: senders share the outbox safely)."""
    import signal
    from urllib.parse import urlparse

    from community import mail, notification_mail

    async def go(cfg: Config) -> None:
        _need_smtp(cfg)
        loop, stop = asyncio.get_running_loop(), asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        sender = asyncio.create_task(mail.sender_loop(mail.Transport.from_config(cfg), poll,
                                                      [notification_mail.composer(cfg)]))
        server = urlparse(cfg.smtp_url)
        click.echo(f"Sending mail through {server.scheme}://{server.hostname}:{server.port or 'default port'}; Ctrl-C to stop.")
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([sender, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            sender.cancel()
            stopping.cancel()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        try:
            await sender  # a mail cut off mid-send is resent after its lease, with the same Message-ID
        except asyncio.CancelledError:
            pass
        click.echo("Stopped; mail not yet sent waits in the outbox.")

    _run(go)


@cli.command()
@click.option("--daily", "kind", flag_value="daily", help="The daily digest (the period that ended at digest.hour UTC).")
@click.option("--weekly", "kind", flag_value="weekly", help="The weekly digest (the period that ended on digest.weekday).")
def digest(kind: str | None) -> None:
    """Queue the latest daily or weekly digest (once per period: a second run sends nothing, a run cut
    short resumes); the server's mail sender, `mailer` or `send-mail` delivers it."""
    from community import clock
    from community import digest as digests
    from community.mail_links import Site

    if kind is None:
        raise click.UsageError("Say which digest: --daily or --weekly.")

    async def go(cfg: Config) -> None:
        now = clock.now()
        period = digests.period(kind, now)
        sent = await digests.run(kind, Site.from_config(cfg), now)
        click.echo(f"Queued {sent} {kind} digest mail(s) for the period ending {period.until:%Y-%m-%d %H:%M} UTC.")

    _run(go)



@cli.command("mail-in")
@click.option("--host", default=None, help="Address to listen on (MAIL_IN_HOST, default 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (MAIL_IN_PORT).")
def mail_in(host: str | None, port: int | None) -> None:
    """Take replies by email as its own process: an SMTP listener for the reply+TOKEN@ addresses of
    notification mails, posting them as answers and comments, until Ctrl-C or SIGTERM."""
    import signal

    from community import mail_in as listener
    from community.mail_links import Site

    if not (port or Config.from_env().mail_in_port):
        raise click.ClickException("Give --port or set MAIL_IN_PORT (e.g. 2525) for the reply listener.")

    async def go(cfg: Config) -> None:
        try:
            server = await listener.listen(cfg, host, port)
        except OSError as exc:
            raise click.ClickException(f"Cannot listen there: {exc}") from None
        loop, stop = asyncio.get_running_loop(), asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        where = ", ".join(f"{s.getsockname()[0]}:{s.getsockname()[1]}" for s in server.sockets)
        click.echo(f"Taking replies to reply+...@{Site.from_config(cfg).domain} on {where}; Ctrl-C to stop.")
        try:
            await stop.wait()
        finally:
            server.close()
        click.echo("Stopped.")

    _run(go)


@cli.command()
def doctor() -> None:
    """Check the configuration, the database, the search index, mail and webhook settings; print each
    check with what to do about a problem, and exit with status 1 when something is wrong."""
    from community import doctor as checks

    sys.exit(checks.main(Config.from_env()))


# Rooms add their own commands (indexer, reindex, escalate, import-stackexchange, ...).
for _module in ("search.cli", "community.support.cli", "moderation.cli", "community.insights.cli"):
    try:
        importlib.import_module(_module).register(cli, _run)
    except ModuleNotFoundError as _exc:
        if not (_exc.name and _module.startswith(_exc.name)):
            raise


if __name__ == "__main__":
    sys.exit(cli())
