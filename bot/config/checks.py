"""This module contains the checks that take several settings together (a backend and its
credentials, webhook mode and its secret, ...), each failing with one line naming the fix."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.config.values import (
    BIZKITHUB_KEY_PATTERN,
    MIDDLEWARE_CREDENTIALS,
    check_covers,
    mapped_value,
    require,
    require_all,
)

if TYPE_CHECKING:
    from bot.config.settings import Settings


def check_combinations(settings: Settings) -> None:
    """Raises ValueError (one line naming the setting) for settings that do not fit together."""
    backend = settings.complaint_backend
    if backend == "middleware":
        has_basic = settings.middleware_username is not None and settings.middleware_password
        credentials = settings.middleware_token if not has_basic else "basic"
        require_all(
            {
                "MIDDLEWARE_BASE_URL": settings.middleware_base_url,
                MIDDLEWARE_CREDENTIALS: credentials,
            },
            backend,
        )
    elif backend == "occ":
        require_all(
            {
                "OCC_BASE_URL": settings.occ_base_url,
                "OCC_USERNAME": settings.occ_username,
                "OCC_PASSWORD": settings.occ_password,
            },
            backend,
        )
        check_covers(settings.occ_reasons, settings.complaint_categories, "OCC_REASONS")
    elif backend == "bizkithub":
        require(settings.bizkithub_api_key, "BIZKITHUB_API_KEY", backend)
        assert settings.bizkithub_api_key is not None
        if not BIZKITHUB_KEY_PATTERN.match(settings.bizkithub_api_key.get_secret_value()):
            raise ValueError(
                "BIZKITHUB_API_KEY: is not a BizKitHub key (PROD, DEV_ or ROOT followed "
                "by 28 letters or digits)"
            )
        check_covers(
            settings.bizkithub_variants, settings.complaint_categories, "BIZKITHUB_VARIANTS"
        )
        # Codes of resolutions not offered are harmless (the default names refund, repair, ...).
        missing = [
            code
            for code in settings.complaint_resolutions
            if mapped_value(settings.bizkithub_resolutions, code) is None
        ]
        if missing:
            raise ValueError(
                f"BIZKITHUB_RESOLUTIONS: has no value for resolutions {', '.join(missing)} "
                "(or use *=…)"
            )
    _check_claimed(settings)
    if settings.photo_categories is not None:
        unknown = [c for c in settings.photo_categories if c not in settings.complaint_categories]
        if unknown:
            raise ValueError(f"PHOTO_CATEGORIES: names unknown categories {', '.join(unknown)}")
    if settings.media_base_url is not None:
        if not settings.media_base_url.startswith("https://"):
            raise ValueError("MEDIA_BASE_URL: must be an https:// URL (the bot's public one)")
        if settings.media_link_secret is None and settings.deep_link_secret is None:
            raise ValueError(
                "MEDIA_LINK_SECRET: set it (16+ characters), or DEEP_LINK_SECRET, to sign "
                "the links of MEDIA_BASE_URL"
            )
    if (
        settings.media_link_secret is not None
        and len(settings.media_link_secret.get_secret_value()) < 16
    ):
        raise ValueError("MEDIA_LINK_SECRET: needs at least 16 characters")
    if (
        settings.deep_link_secret is not None
        and len(settings.deep_link_secret.get_secret_value()) < 16
    ):
        raise ValueError("DEEP_LINK_SECRET: needs at least 16 characters (32 random ones is good)")
    if settings.bot_mode == "webhook":
        require(settings.webhook_url, "WEBHOOK_URL", "webhook", setting="BOT_MODE")
        if settings.webhook_url and not settings.webhook_url.startswith("https://"):
            raise ValueError(
                "WEBHOOK_URL: must be an https:// URL (Telegram posts updates over HTTPS "
                "only; put a TLS-terminating proxy in front of the bot)"
            )
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
        if len(secret) < 32 or not re.fullmatch(r"[A-Za-z0-9_-]+", secret):
            raise ValueError(
                "WEBHOOK_SECRET: needs at least 32 characters of A-Z a-z 0-9 _ - "
                "when BOT_MODE=webhook"
            )


def _check_claimed(settings: Settings) -> None:
    """The amount needs its currency; the account a solution that asks for it."""
    if settings.ask_amount != "off" and settings.claim_currency is None:
        raise ValueError("CLAIM_CURRENCY: is required when ASK_AMOUNT is not off (e.g. CZK)")
    if settings.ask_refund_account != "off" and not settings.refund_account_resolutions:
        raise ValueError(
            "REFUND_RESOLUTIONS: names none of the solutions of COMPLAINT_RESOLUTIONS, so "
            "ASK_REFUND_ACCOUNT would never ask"
        )
