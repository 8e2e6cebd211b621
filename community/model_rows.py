"""Rows read with plain SQL, built into the same model objects Tortoise's querysets make.

A page of a large forum that is not kept (issue 17) spends much of its time in the ORM: each
queryset is built, compiled and its rows split per request. Where a page reads a fixed shape of rows
(a thread, a page of a question list, the tickets of those questions) it writes the statement once
per process from the models' own column lists (`columns`) (a column added to a model is read with no change
here) and builds the rows into models through `Model._init_from_db`, the ORM's own constructor for a
fetched row (it converts SQLite's text dates and integer booleans as the ORM does). A related row
read in the same statement (its columns prefixed `r__`) is attached as `select_related` attaches it.

This is the one module that leans on Tortoise's internals (`_meta.fields_db_projection`,
`_init_from_db`, the `_<relation>` attribute select_related fills); `tests/test_model_rows.py`
compares what it builds with what the ORM builds, so a Tortoise release that changes them fails there.
"""

from __future__ import annotations

import functools
from typing import Any

PREFIX = "r__"  # the related row's columns


@functools.cache
def columns(model: Any, alias: str, related: bool = False) -> str:
    """The select list of every column of `model` read through `alias` (prefixed for a related row),
    written once per process."""
    prefix = PREFIX if related else ""
    return ", ".join(f'{alias}."{column}" AS "{prefix}{column}"' for column in model._meta.fields_db_projection.values())


def build(model: Any, row: Any, relation: str | None = None, related_model: Any = None,
          shared: dict[int, Any] | None = None) -> Any:
    """The `model` object of `row`. With `relation`, the related `related_model` row read beside it
    (None when the key is null) is attached as select_related(relation) attaches it; `shared` keeps
    one object per related id (a member shown beside several posts is one object)."""
    own = {k: v for k, v in row.items() if not k.startswith(PREFIX)}
    obj = model._init_from_db(**own)
    if relation is not None:
        other = None
        rid = row.get(PREFIX + "id")
        if rid is not None:
            other = shared.get(rid) if shared is not None else None
            if other is None:
                other = related_model._init_from_db(**{k[len(PREFIX):]: v for k, v in row.items() if k.startswith(PREFIX)})
                if shared is not None:
                    shared[rid] = other
        object.__setattr__(obj, f"_{relation}", other)
    return obj
