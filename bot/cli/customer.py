"""This module contains `python -m bot customer export|forget TELEGRAM_USER_ID`."""

from __future__ import annotations

import sys
import time

from bot.config import ConfigError, Settings
from bot.conversation.data_rights import export_json
from bot.storage.customer_data import CustomerData
from bot.storage.engines import database_for
from bot.storage.erasures import Erasures
from bot.storage.media_cache import FileCache


async def export_customer(settings: Settings, user_id: int) -> int:
    """Prints everything stored about the customer: the JSON /mydata sends them."""
    database = database_for(settings)
    await database.open()
    try:
        document = await CustomerData(database).export(user_id, now=time.time())
    finally:
        await database.close()
    sys.stdout.write(export_json(document).decode() + "\n")
    return 0


async def forget_customer(settings: Settings, user_id: int) -> int:
    """Erases the customer as /forgetme does. The request stays recorded, so a running bot
    also drops what it keeps of them in memory and in MEDIA_CACHE_DIR, and finishes what
    waits for a complaint."""
    key = settings.pseudonym_key
    if key is None:
        raise ConfigError("PSEUDONYM_SECRET: is not set (nor TELEGRAM_BOT_TOKEN)")
    database = database_for(settings)
    await database.open()
    try:
        erasure = await Erasures(database).request(user_id, key, now=time.time(), in_memory=True)
    finally:
        await database.close()
    if settings.media_cache_dir is not None:
        FileCache(settings.media_cache_dir).discard(erasure.files)
    print(f"Forgot customer {user_id}: complaints anonymised: {erasure.anonymised}.")
    if erasure.pending:
        print(
            f"Complaints still to be registered: {erasure.pending}; the bot anonymises "
            "them once they are."
        )
    if erasure.open:
        print(
            f"Complaints still being handled: {erasure.open}; the bot unlinks them from "
            "the customer once they are finished."
        )
    if erasure.remote_orders:
        print(
            "The backend keeps its own copy of the complaints about orders "
            f"{', '.join(erasure.remote_orders)}: erase them there too."
        )
    return 0
