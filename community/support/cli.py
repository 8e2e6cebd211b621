"""`python run.py escalate --once` (for cron) and `python run.py escalate` (a sweeper of its own)."""

from __future__ import annotations

import asyncio
from typing import Any

import click


def register(cli: click.Group, run: Any) -> None:
    @cli.command()
    @click.option("--once", is_flag=True, help="Sweep once and exit (for cron).")
    def escalate(once: bool) -> None:
        """Nudge the community about questions half way to their SLA; turn every question past it into a ticket."""
        from community.support import sweeper, webhooks
        from community.support.web import configure

        async def go(cfg: Any) -> None:
            configure(cfg)
            if once:
                result = await sweeper.sweep()
                delivered = await webhooks.deliver_due()
                click.echo(f"Nudged the community about {len(result.nudged)} question(s). "
                           f"Escalated {len(result.created)} question(s) ({result.due} due, "
                           f"{result.candidates} candidates, {result.db_seconds * 1000:.1f} ms in the database)"
                           + (f"; delivered {delivered} webhook event(s)." if webhooks.enabled() else "."))
                return
            click.echo(f"Sweeping every {cfg.escalation_sweep_seconds:g}s; press Ctrl+C to stop.")
            await sweeper.sweeper_loop(cfg.escalation_sweep_seconds)

        try:
            run(go)
        except KeyboardInterrupt:
            pass
        except asyncio.CancelledError:
            pass
