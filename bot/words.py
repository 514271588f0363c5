"""This module contains counted: "1 complaint", "2 complaints", for the English of the CLI and
the logs (what customers read is counted in their language by the catalogues' plural forms)."""

from __future__ import annotations


def counted(count: int, one: str, many: str | None = None) -> str:
    """`count` and the noun in the number it takes in English."""
    return f"{count} {one if count == 1 else (many or one + 's')}"
