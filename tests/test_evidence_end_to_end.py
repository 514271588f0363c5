"""A complaint with an album and a solution, from the customer's chat to the backend's request
and the operators' chat: the issue's "done" scenario, on each HTTP backend that takes files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.cli.desk import show
from tests.helpers.driver import PRODUCT_DEFAULTS, BotHarness, make_settings

OPERATORS = -100777
BIZ_KEY = "PRODPGrFxpGEtrOZfuWhnoJohUYBXuOE"
MIDDLEWARE = "https://middleware.example.com/"


class Backend:
    """Records the backend's requests and answers as its seed document does."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.bodies: list[dict[str, Any]] = []

    def client(self) -> httpx.AsyncClient:
        def handle(request: httpx.Request) -> httpx.Response:
            self.bodies.append(json.loads(request.content))
            return httpx.Response(200, json=self.answer)

        return httpx.AsyncClient(transport=httpx.MockTransport(handle))


BACKENDS: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "bizkithub": (
        {"complaint_backend": "bizkithub", "bizkithub_api_key": BIZ_KEY},
        {"id": "a1b2c3d4e5f6g7h8"},
        "a1b2c3d4e5f6g7h8",
    ),
    "middleware": (
        {
            "complaint_backend": "middleware",
            "middleware_base_url": MIDDLEWARE,
            "middleware_token": "middleware-test-token",
        },
        {
            "responseType": "container",
            "responseMessages": [
                {
                    "containerResponse": {
                        "responseText": "Registered.",
                        "attributes": [{"name": "complaintId", "value": "12345"}],
                    }
                }
            ],
        },
        "12345",
    ),
}


@pytest.mark.parametrize("backend_name", list(BACKENDS))
async def test_an_album_and_replacement_reach_the_backend_and_the_operators(
    backend_name: str, tmp_path: Path
) -> None:
    settings_of_backend, answer, number = BACKENDS[backend_name]
    backend = Backend(answer)
    settings = make_settings(
        tmp_path / "bot.sqlite3",
        **(PRODUCT_DEFAULTS | settings_of_backend | {"operator_chat_id": OPERATORS}),
    )
    bot = BotHarness(settings, http_client=backend.client())
    await bot.start()
    try:
        ada = bot.customer()
        await ada.show_the_damage(3)
        turn = await ada.press("Replacement")
        assert "<b>Files:</b> 3" in turn.text and "Solution wanted:</b> Replacement" in turn.text
        await ada.press("Submit")
        await bot.settle()

        card = ada.messages()[-1].text
        assert number in card
        assert "<b>Files:</b> 3" in card and "Solution wanted:</b> Replacement" in card

        (body,) = backend.bodies
        photos = list(bot.api.telegram.files.values())
        if backend_name == "bizkithub":
            assert body["resolutionMethodCode"] == "exchange"
            for index, photo in enumerate(photos, start=1):
                assert f"{index}. photo, image/jpeg" in body["description"]
                assert photo.file_id in body["description"]
        else:
            entity = body["queryInfo"]["parameters"]["params"]["entityInfo"]
            assert entity["resolution"] == "replacement"
            assert [a["fileId"] for a in entity["attachments"]] == [p.file_id for p in photos]

        post, *album = bot.api.chat_messages(OPERATORS)
        assert f"New complaint {number}" in post.text
        assert "Solution wanted:</b> Replacement" in post.text and "Files:</b> 3" in post.text
        assert [m.file for m in album] == [p.file_id for p in photos]
        assert {m.file_kind for m in album} == {"photo"}
        assert len({m.album for m in album}) == 1  # one album
        assert f"Complaint {number}" in album[0].text  # its caption names the complaint
    finally:
        await bot.stop()


async def test_documents_go_to_the_operators_apart_from_photos_and_a_single_file_alone(
    tmp_path: Path,
) -> None:
    settings = make_settings(
        tmp_path / "bot.sqlite3", **(PRODUCT_DEFAULTS | {"operator_chat_id": OPERATORS})
    )
    bot = BotHarness(settings)
    await bot.start()
    try:
        ada = bot.customer()
        await ada.send("/complaint")
        await ada.send("748596")
        await ada.send_file("document", name="receipt.pdf", mime="application/pdf")
        await ada.send("The blender arrived with a cracked jug.")
        await ada.press("Product-related")
        await ada.send_album(2)
        await ada.press("Done")
        await ada.press("Refund")
        await ada.press("Submit")
        await bot.settle()

        post, *files = bot.api.chat_messages(OPERATORS)
        assert "New complaint 100001" in post.text
        assert [m.file_kind for m in files] == ["photo", "photo", "document"]
        assert files[0].album and files[0].album == files[1].album  # the photos together
        assert not files[2].album  # one document: sent as itself
        assert "Complaint 100001" in files[0].text and "Complaint 100001" in files[2].text
    finally:
        await bot.stop()


async def test_desk_show_lists_the_solution_the_contact_and_each_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(
        tmp_path / "bot.sqlite3", **(PRODUCT_DEFAULTS | {"ask_contact": "optional"})
    )
    bot = BotHarness(settings)
    await bot.start()
    try:
        ada = bot.customer()
        await ada.show_the_damage(2, receipt=True)
        await ada.press("Replacement")
        await ada.send("ada@example.com")
        await ada.press("Submit")
        await bot.settle()
        capsys.readouterr()
        assert await show(settings, "100001") == 0
    finally:
        await bot.stop()
    lines = capsys.readouterr().out.splitlines()
    photos = [f.file_id for f in bot.api.telegram.files.values()]
    assert "  solution: replacement" in lines
    assert "  contact:  ada@example.com" in lines
    assert "  files:    3" in lines
    listed = lines[lines.index("  files:    3") + 1 :]
    assert listed[0].startswith("    1. photo, image/jpeg") and photos[0] in listed[0]
    assert listed[2].startswith("    3. document, receipt.pdf, application/pdf")
    assert photos[2] in listed[2]
