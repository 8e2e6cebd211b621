"""Rows of the moderation room."""

from __future__ import annotations
