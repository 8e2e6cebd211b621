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
            from search import whoosh_owner

            claim = whoosh_owner.OutboxClaim(cfg) if whoosh_owner.applies(cfg) else None
            if claim is not None:
                try:
                    await claim.start()
                except whoosh_owner.OutboxTaken as exc:
                    raise click.ClickException(str(exc)) from None
            click.echo(f"Indexing into {cfg.search_backend} ({cfg.index_dir if cfg.search_backend == 'whoosh' else 'search_document'}); Ctrl-C to stop.")
            try:
                await Indexer(backend_for(cfg), claim=claim).run()
            finally:
                if claim is not None:
                    await claim.close()

        try:
            run(go)
        except KeyboardInterrupt:
            click.echo("Stopped; anything not yet indexed waits in the outbox.")

    @cli.command()
    @click.option("--vectors-only", is_flag=True, help="Rebuild only the question vectors, not the search index.")
    @click.option("--fresh", is_flag=True, help="Embed every question again, even those whose vector is up to date. "
                  "Stopped part way, a plain `reindex --vectors-only` goes on where it stopped.")
    @click.option("--batch", type=click.IntRange(1, 10_000), default=256, show_default=True,
                  help="Questions per committed batch of vectors.")
    def reindex(vectors_only: bool, fresh: bool, batch: int) -> None:
        """Rebuild the search index and the question vectors from the database (resumable: stopped at any
        moment, run it again and it embeds only what is missing)."""
        from tqdm import tqdm

        from search.backend import backend_for
        from search.indexer import Indexer

        async def go(cfg: Config) -> None:
            if vectors_only:
                embedder = _embedder(cfg)
            else:
                bar = tqdm(unit=" threads", desc="reindex")

                def start(total: int) -> None:
                    bar.reset(total=total)

                from search import whoosh_owner

                # Rebuilding a Whoosh index empties the outbox into it: refused, as `indexer` is, when
                # another host's index follows this database's outbox (search/whoosh_owner.py).
                claim = whoosh_owner.OutboxClaim(cfg) if whoosh_owner.applies(cfg) else None
                if claim is not None:
                    try:
                        await claim.start()
                    except whoosh_owner.OutboxTaken as exc:
                        bar.close()
                        raise click.ClickException(str(exc)) from None
                try:
                    backend = backend_for(cfg)
                    count = await Indexer(backend).reindex(on_start=start, on_batch=bar.update)
                finally:
                    if claim is not None:
                        await claim.close()
                bar.close()
                click.echo(f"Indexed {count} threads into {cfg.search_backend}.")
                embedder = getattr(backend, "embedder", None)
                if embedder is None:
                    click.echo("Semantic search is off (EMBEDDINGS=0, or the model is not installed): no vectors.")
                    return
            from search import vectors

            if fresh:
                await vectors.forget_digests()
            vbar = tqdm(unit=" questions", desc="vectors")
            embedded = await vectors.rebuild(embedder, on_start=lambda n: vbar.reset(total=n), on_batch=vbar.update,
                                             batch=batch)
            vbar.close()
            click.echo(f"Embedded {embedded} questions (the others' vectors were up to date).")

        run(go)


def _embedder(cfg: Config) -> Any:
    """The model, or a clear refusal when semantic search is off."""
    from search.embedding import ModelMissing, shared

    if not cfg.embeddings:
        raise click.ClickException("semantic search is off (EMBEDDINGS=0): there are no vectors to rebuild")
    try:
        return shared()
    except ModelMissing as exc:
        raise click.ClickException(f"semantic search is off: {exc}") from None
