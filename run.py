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
        try:
            await settings.load()
            return await fn(cfg)
        finally:
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

    from community import db

    cfg = Config.from_env()
    cfg.ensure_secret()
    asyncio.run(db.migrate(cfg.database_url))
    _run(_load_demo_if_empty)
    host, port, workers = host or cfg.host, port or cfg.port, workers or cfg.workers
    from community import demo

    click.echo(demo.LOGIN_HELP.format(url=f"http://{host}:{port}"))
    os.environ.setdefault("SECRET_KEY", cfg.secret_key)
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


@cli.command("send-mail")
def send_mail() -> None:
    """Send the mail that is due from the outbox once, and exit (for cron; the server sends it too)."""
    from community import mail

    async def go(cfg: Config) -> None:
        if not cfg.smtp_url:
            raise click.ClickException("Set SMTP_URL (e.g. smtp://user:pass@mail.example.com:587) to send mail.")
        transport, total = mail.Transport.from_config(cfg), mail.Batch()
        while True:
            batch = await mail.deliver_due(transport)
            for name in ("claimed", "sent", "retrying", "failed"):
                setattr(total, name, getattr(total, name) + getattr(batch, name))
            if batch.claimed < mail.BATCH or batch.sent == 0:
                break
        click.echo(f"Sent {total.sent} mail(s); {total.retrying} to retry later, {total.failed} given up.")

    _run(go)


# Rooms add their own commands (indexer, reindex, escalate, import-stackexchange, ...).
for _module in ("search.cli", "community.support.cli", "moderation.cli", "community.insights.cli"):
    try:
        importlib.import_module(_module).register(cli, _run)
    except ModuleNotFoundError as _exc:
        if not (_exc.name and _module.startswith(_exc.name)):
            raise


if __name__ == "__main__":
    sys.exit(cli())
