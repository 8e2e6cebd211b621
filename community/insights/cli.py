"""Command line of insights: `python run.py import-stackexchange DIR [--escalate-open]`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import click

from community.config import Config


def register(cli: click.Group, run: Callable[[Callable[[Config], Awaitable[Any]]], Any]) -> None:
    @cli.command("import-stackexchange")
    @click.argument("directory", type=click.Path(exists=True, file_okay=False))
    @click.option("--escalate-open", is_flag=True,
                  help="Let open imported questions escalate to the support desk (by default, imported "
                       "questions already past their SLA never do).")
    @click.option("--batch-size", type=click.IntRange(1, 5000), default=500, show_default=True,
                  help="Rows written per transaction.")
    def import_stackexchange(directory: str, escalate_open: bool, batch_size: int) -> None:
        """Import a Stack Exchange data dump directory (Users.xml, Posts.xml, Votes.xml, Comments.xml, ...).

        Safe to run again, or to restart after it was stopped: rows already imported are skipped.
        Imported members have no password until they use a password-reset link.
        """
        from community.errors import DomainError
        from community.insights.importer import StackExchangeImport

        async def go(cfg: Config) -> None:
            try:
                job = StackExchangeImport(directory, escalate_open=escalate_open, batch_size=batch_size, progress=True)
            except DomainError as err:
                raise click.ClickException(err.message) from None
            report = await job.run()
            click.echo(f"\nImported {report.site} from {directory}:\n")
            click.echo(report.table())
            click.echo("\nNew questions wait in the search outbox: the indexer picks them up "
                       "(or run `python run.py reindex`).")

        run(go)
