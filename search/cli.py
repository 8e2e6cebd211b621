"""Command-line entry points of the search room: `python run.py indexer` and `python run.py reindex`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import click

from community.config import Config


def register(cli: click.Group, run: Callable[[Callable[[Config], Awaitable[Any]]], Any]) -> None:
    @cli.command()
    def indexer() -> None:
        """Keep the search index in step with the database (when RUN_INDEXER=0 in the web workers)."""
        from search.backend import backend_for
        from search.indexer import Indexer

        async def go(cfg: Config) -> None:
            click.echo(f"Indexing into {cfg.search_backend} ({cfg.index_dir if cfg.search_backend == 'whoosh' else 'search_document'}); Ctrl-C to stop.")
            await Indexer(backend_for(cfg)).run()

        try:
            run(go)
        except KeyboardInterrupt:
            click.echo("Stopped; anything not yet indexed waits in the outbox.")

    @cli.command()
    def reindex() -> None:
        """Rebuild the whole search index from the database."""
        from tqdm import tqdm

        from search.backend import backend_for
        from search.indexer import Indexer

        async def go(cfg: Config) -> None:
            bar = tqdm(unit=" threads", desc="reindex")

            def start(total: int) -> None:
                bar.reset(total=total)

            backend = backend_for(cfg)
            count = await Indexer(backend).reindex(on_start=start, on_batch=bar.update)
            bar.close()
            click.echo(f"Indexed {count} threads into {cfg.search_backend}.")
            embedder = getattr(backend, "embedder", None)
            if embedder is not None:
                from search import vectors

                vbar = tqdm(unit=" questions", desc="vectors")
                embedded = await vectors.rebuild(embedder, on_start=lambda n: vbar.reset(total=n), on_batch=vbar.update)
                vbar.close()
                click.echo(f"Embedded {embedded} questions (the others' vectors were up to date).")

        run(go)
