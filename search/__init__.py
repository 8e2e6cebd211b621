"""The search room: the full-text index, its outbox, the query language and deflection events."""
