"""This module contains what a customer sends besides text: files, and their own contact.

A photo, video or document is welcome at any step of a draft (up to MAX_ATTACHMENTS): at the
PHOTOS step it is what is asked for; at PROBLEM, a caption counts as the problem statement;
elsewhere it is attached and the question asked again. The files of an album arrive as
separate messages: one answer is given, and edited as the album's files come in.
"""

from __future__ import annotations

import re

from telegram import Message

from bot.complaint import Attachment

# The most a bot can fetch from Telegram (getFile).
MAX_FILE_BYTES = 20 * 1024 * 1024
DOCUMENT_TYPES = ("application/pdf", "image/")
# A practical check, not RFC 5322: one @, a dotted domain with a 2+ letter top level, no
# spaces; catches the typos people make ("ada@example", "ada@@example.com", "ada.example.com").
EMAIL_PATTERN = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
EMAIL_MAX_LENGTH = 254


def attachment_of(message: Message) -> Attachment | str:
    """The file a message carries, or the catalogue key of why it cannot be attached."""
    if message.photo:
        photo = message.photo[-1]  # the largest size Telegram made
        attachment = Attachment(
            kind="photo",
            fileId=photo.file_id,
            fileUniqueId=photo.file_unique_id,
            mimeType="image/jpeg",
            size=photo.file_size,
        )
    elif message.video is not None:
        video = message.video
        attachment = Attachment(
            kind="video",
            fileId=video.file_id,
            fileUniqueId=video.file_unique_id,
            fileName=video.file_name,
            mimeType=video.mime_type,
            size=video.file_size,
        )
    elif message.document is not None:
        document = message.document
        if not (document.mime_type or "").startswith(DOCUMENT_TYPES):
            return "photos.unsupported"
        attachment = Attachment(
            kind="document",
            fileId=document.file_id,
            fileUniqueId=document.file_unique_id,
            fileName=document.file_name,
            mimeType=document.mime_type,
            size=document.file_size,
        )
    else:
        return "photos.unsupported"
    if attachment.size is not None and attachment.size > MAX_FILE_BYTES:
        return "photos.too_large"
    return attachment


def own_phone(message: Message) -> str | None:
    """The phone number of a shared contact, if it is the sender's own (with its +)."""
    contact = message.contact
    if contact is None or message.from_user is None:
        return None
    if contact.user_id != message.from_user.id:
        return None
    number = contact.phone_number.strip()
    # Telegram sends the number without the + of its international form.
    return number if number.startswith("+") else f"+{number}"


def email_of(text: str) -> str | None:
    """The e-mail address typed, with its domain in lower case; None if it is not one."""
    candidate = text.strip()
    if len(candidate) > EMAIL_MAX_LENGTH or not EMAIL_PATTERN.fullmatch(candidate):
        return None
    if ".." in candidate or candidate.startswith(".") or ".@" in candidate:
        return None
    local, _, domain = candidate.rpartition("@")
    return f"{local}@{domain.lower()}"
