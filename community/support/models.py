"""Rows of support escalation: tickets, their history and notes, webhook deliveries."""

from __future__ import annotations
