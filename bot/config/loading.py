"""This module contains load_settings: the settings read once, or one line naming what is wrong."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import ValidationError

from bot.config.settings import Settings
from bot.config.values import ConfigError

# Settings where an empty value means "none" (elsewhere an empty value means "the default").
EMPTY_MEANS_NONE = ("COMPLAINT_RESOLUTIONS",)


def load_settings(**overrides: Any) -> Settings:
    """Reads and validates the settings; raises ConfigError with one line naming the setting."""
    for name in EMPTY_MEANS_NONE:
        if name.lower() not in overrides and _set_but_empty(name):
            overrides[name.lower()] = {}
    try:
        return Settings(**overrides)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err)) from None


def _set_but_empty(name: str) -> bool:
    """Whether the environment or .env sets `name` to nothing (not: leaves it out)."""
    if name in os.environ:
        return not os.environ[name].strip()
    dotenv = Path(".env")
    if dotenv.is_file():
        values = dotenv_values(dotenv)
        return name in values and not (values[name] or "").strip()
    return False


def describe_validation_error(err: ValidationError) -> str:
    """One line for the first problem: the setting's name and what is wrong (never its value)."""
    first = err.errors(include_input=False, include_url=False)[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["loc"]:
        return f"{str(first['loc'][0]).upper()}: {_friendly(message)}"
    return message


def _friendly(message: str) -> str:
    """Pydantic's words, made to read as advice to an operator."""
    return message[0].lower() + message[1:] if message else message
