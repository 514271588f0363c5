"""This module contains the types of settings: each reads the environment's text and checks it,
so that a wrong value fails with one line naming the setting (pydantic puts the name first)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, SecretStr
from pydantic_settings import NoDecode

from bot.config.values import (
    BOT_TOKEN_PATTERN,
    CATEGORY_CODE_PATTERN,
    BackendName,
    DatabaseUrl,
    parse_database_url,
    parse_mapping,
)
from bot.hours import WorkingHours


def _lower(value: object) -> object:
    # ASK_PHOTOS=Optional means what optional means.
    return value.strip().lower() if isinstance(value, str) else value


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _token(value: SecretStr | None) -> SecretStr | None:
    # Checked before any network call: Telegram would only say "Not Found" (never the token
    # in the message: it is a secret even when malformed).
    if value is None or not value.get_secret_value():
        return None
    if not BOT_TOKEN_PATTERN.match(value.get_secret_value()):
        raise ValueError(
            "is not a bot token: @BotFather gives one of the form <digits>:<35 characters> "
            "(letters, digits, _ and -), e.g. 123456789:AAE… (copy it whole)"
        )
    return value


def _url(value: str | None) -> str | None:
    if value is not None and not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/") if value else value


def _pattern(value: str) -> str:
    try:
        re.compile(value)
    except re.error as err:
        raise ValueError(f"is not a valid regular expression ({err})") from err
    return value


def _codes(what: str, *, at_least_one: bool) -> AfterValidator:
    def check(value: dict[str, str]) -> dict[str, str]:
        if at_least_one and not value:
            raise ValueError(f"needs at least one {what}")
        for code in value:
            if not CATEGORY_CODE_PATTERN.match(code):
                raise ValueError(
                    f"{what} code '{code}' must be 1-32 lowercase letters, digits, - or _"
                )
        return value

    return AfterValidator(check)


def _database_url(value: object) -> object:
    if isinstance(value, str):
        return parse_database_url(value) if value.strip() else None
    if isinstance(value, SecretStr):
        return parse_database_url(value.get_secret_value())
    return value


def _hours(value: object) -> object:
    if isinstance(value, str):
        return WorkingHours.parse(value) if value.strip() else None
    return value


def _code_list(value: object) -> object:
    if isinstance(value, str):
        return [code.strip() for code in value.split(",") if code.strip()]
    return value


BotToken = Annotated[SecretStr | None, AfterValidator(_token)]
Url = Annotated[str, AfterValidator(_url)]
OptionalUrl = Annotated[str | None, AfterValidator(_url)]
Pattern = Annotated[str, AfterValidator(_pattern)]
Step = Annotated[Literal["off", "optional", "required"], BeforeValidator(_lower)]
BotMode = Annotated[Literal["polling", "webhook"], BeforeValidator(_lower)]
Backend = Annotated[BackendName, BeforeValidator(_lower)]
LogLevel = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(_upper)]
LogFormat = Annotated[Literal["text", "json"], BeforeValidator(_lower)]
# `code=Value` pairs (or a JSON object), in the order given.
Mapping_ = Annotated[dict[str, str], NoDecode, BeforeValidator(parse_mapping)]
# The same where `code=` maps to "" (BIZKITHUB_RESOLUTIONS: send nothing for it).
MappingWithEmpty = Annotated[
    dict[str, str], NoDecode, BeforeValidator(lambda v: parse_mapping(v, empty_values=True))
]
Categories = Annotated[Mapping_, _codes("category", at_least_one=True)]
Resolutions = Annotated[Mapping_, _codes("resolution", at_least_one=False)]
CodeList = Annotated[list[str] | None, NoDecode, BeforeValidator(_code_list)]
DatabaseUrlSetting = Annotated[DatabaseUrl | None, NoDecode, BeforeValidator(_database_url)]
Hours = Annotated[WorkingHours | None, NoDecode, BeforeValidator(_hours)]
