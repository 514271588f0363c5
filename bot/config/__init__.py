"""This package contains the settings: read once from the environment and `.env`, validated,
and passed down (bot/config/settings.py holds the model, one described field per setting)."""

from bot.config.loading import EMPTY_MEANS_NONE, describe_validation_error, load_settings
from bot.config.settings import Settings
from bot.config.values import (
    ANY_CATEGORY,
    BIZKITHUB_KEY_PATTERN,
    BOT_TOKEN_PATTERN,
    CATEGORY_CODE_PATTERN,
    DEFAULT_BIZKITHUB_RESOLUTIONS,
    DEFAULT_CATEGORIES,
    DEFAULT_ORDER_ID_PATTERN,
    DEFAULT_PHOTO_CATEGORIES,
    DEFAULT_RESOLUTIONS,
    MIDDLEWARE_CREDENTIALS,
    BackendName,
    ConfigError,
    DatabaseUrl,
    mapped_value,
    parse_database_url,
    parse_mapping,
)

__all__ = [
    "ANY_CATEGORY",
    "BIZKITHUB_KEY_PATTERN",
    "BOT_TOKEN_PATTERN",
    "CATEGORY_CODE_PATTERN",
    "DEFAULT_BIZKITHUB_RESOLUTIONS",
    "DEFAULT_CATEGORIES",
    "DEFAULT_ORDER_ID_PATTERN",
    "DEFAULT_PHOTO_CATEGORIES",
    "DEFAULT_RESOLUTIONS",
    "EMPTY_MEANS_NONE",
    "MIDDLEWARE_CREDENTIALS",
    "BackendName",
    "ConfigError",
    "DatabaseUrl",
    "Settings",
    "describe_validation_error",
    "load_settings",
    "mapped_value",
    "parse_database_url",
    "parse_mapping",
]
