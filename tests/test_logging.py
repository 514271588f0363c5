"""No secret reaches a log line: whole conversations on every backend, logged at DEBUG."""

from __future__ import annotations

import base64
import io
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx
from telegram.error import InvalidToken
from telegram.request import HTTPXRequest

from bot.app import build_application
from bot.logging_setup import (
    NOISY_LOGGERS,
    REDACTED,
    Redactor,
    configure_logging,
    log_uncaught,
)
from tests.helpers.bot_api import FakeBotApi
from tests.helpers.driver import BotHarness, make_settings

BOT_TOKEN = "7000001:AAHdqTcvCH1vGWJxfSeofSAs0K5P-secret"
WEBHOOK_SECRET = "webhook-secret-0123456789-abcdefghij"
DEEP_LINK_SECRET = "deep-link-secret-0123456789"
MW_BASE = "https://middleware.example.com"
MW_PASSWORD = "mw-pa55word-very-secret"
MW_TOKEN = "mw-bearer-token-0123456789-secret"
MW_BASIC = base64.b64encode(f"bot-user:{MW_PASSWORD}".encode()).decode()
OCC_BASE = "https://occ.example.com"
OCC_PASSWORD = "occ-agent-pa55word-secret"
OCC_ACCESS_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.occ-access-token-signature"
BIZ_BASE = "https://api.bizkithub.com"
BIZ_KEY = "PRODPGrFxpGEtrOZfuWhnoJohUYBXuOE"

SECRETS = {
    "bot token": BOT_TOKEN,
    "webhook secret": WEBHOOK_SECRET,
    "deep link secret": DEEP_LINK_SECRET,
    "middleware password": MW_PASSWORD,
    "middleware token": MW_TOKEN,
    "middleware basic credentials": MW_BASIC,
    "OCC password": OCC_PASSWORD,
    "OCC access token": OCC_ACCESS_TOKEN,
    "BizKitHub API key": BIZ_KEY,
}
# What each secret looks like where a library might print it: plain, or escaped inside JSON.
FORMS = {
    name: {value, json.dumps(value)[1:-1], value.split(":", 1)[-1]}
    for name, value in SECRETS.items()
}

BACKENDS: dict[str, dict[str, Any]] = {
    "local": {},
    "middleware-basic": {
        "complaint_backend": "middleware",
        "middleware_base_url": MW_BASE,
        "middleware_username": "bot-user",
        "middleware_password": MW_PASSWORD,
    },
    "middleware-token": {
        "complaint_backend": "middleware",
        "middleware_base_url": MW_BASE,
        "middleware_token": MW_TOKEN,
    },
    "occ": {
        "complaint_backend": "occ",
        "occ_base_url": OCC_BASE,
        "occ_username": "agent",
        "occ_password": OCC_PASSWORD,
        "occ_site_id": "siteUS",
    },
    "bizkithub": {"complaint_backend": "bizkithub", "bizkithub_api_key": BIZ_KEY},
}

# What each backend knows and could echo back in an error message (the adapters must scrub it).
ECHOES = {
    "local": "",
    "middleware-basic": f"{MW_PASSWORD} {MW_BASIC} Authorization: Basic {MW_BASIC}",
    "middleware-token": f"{MW_TOKEN} Authorization: Bearer {MW_TOKEN}",
    "occ": f"{OCC_PASSWORD} Bearer {OCC_ACCESS_TOKEN}",
    "bizkithub": f"apiKey={BIZ_KEY} Bearer {BIZ_KEY}",
}
JSON_PARAMETERS = ("reply_markup", "commands", "allowed_updates", "entities")


class BotApiOverHttp(httpx.AsyncBaseTransport):
    """The FakeBotApi behind a real HTTP client, so PTB's HTTPXRequest and httpx log as usual."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = (await request.aread()).decode()
        params: dict[str, Any] = dict(parse_qsl(body))
        for name in JSON_PARAMETERS:
            if name in params:
                params[name] = json.loads(params[name])

        class Data:
            parameters = params

        code, content = await self.api.do_request(str(request.url), request.method, Data())  # type: ignore[arg-type]
        return httpx.Response(code, content=content)


class HttpBotHarness(BotHarness):
    """The harness with PTB's own HTTPXRequest (and its logging) in front of the fake Bot API."""

    async def start(self) -> None:
        request = HTTPXRequest(httpx_kwargs={"transport": BotApiOverHttp(self.api)})
        self._built = build_application(
            self.settings,
            request=request,
            backend=self.backend,
            http_client=self.http_client,
            clock=self.clock,
        )
        app = self._built.application
        app.add_error_handler(self._record_error)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)


@contextmanager
def captured_logs(fmt: str, secrets: list[str]) -> Iterator[io.StringIO]:
    """The project's own handler, at DEBUG, writing into a buffer; the old set-up restored."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    buffer = io.StringIO()
    handler = configure_logging("DEBUG", fmt, secrets)
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        for existing in saved_handlers:
            root.addHandler(existing)
        root.setLevel(saved_level)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)


def mock_backends(mock: respx.MockRouter, echo: str) -> None:
    """The documented answers of every backend; the second complaint is refused with an echo."""
    mw_raise = f"{MW_BASE}/api/rest/v1/ecom/integrations/raiseComplaintsAgainstOrder"
    mw_track = f"{MW_BASE}/api/rest/v1/ecom/integrations/getComplaintsTrackingDetails"
    registered = {
        "response": {
            "responseType": "container",
            "responseMessages": [
                {
                    "containerResponse": {
                        "responseText": "Your complaint is registered. Number 12345.",
                        "attributes": [
                            {"name": "orderId", "value": "748596"},
                            {"name": "complaintId", "value": "12345"},
                        ],
                    }
                }
            ],
        }
    }
    mock.post(mw_raise).mock(
        side_effect=[
            httpx.Response(200, json=registered),
            httpx.Response(400, json={"message": f"Bad credentials {echo}"}),
        ]
    )
    mock.post(mw_track).respond(
        200,
        json={"simpleResponse": {"responseText": "Complaint 12345 is in progress."}},
    )

    mock.post(f"{OCC_BASE}/ccagent/v1/login").respond(
        json={"access_token": OCC_ACCESS_TOKEN, "token_type": "bearer", "expires_in": 900}
    )
    appeasement = {"id": "app370003", "state": "INCOMPLETE", "orderId": "748596"}
    mock.post(f"{OCC_BASE}/ccagent/v1/appeasements").mock(
        side_effect=[
            httpx.Response(200, json=appeasement),
            httpx.Response(
                400,
                json={"errorCode": "13001", "message": f"Invalid notes {echo}", "status": "400"},
            ),
        ]
    )
    mock.post(f"{OCC_BASE}/ccagent/v1/appeasements/submit").respond(
        json={**appeasement, "state": "SUBMITTED"}
    )
    mock.get(f"{OCC_BASE}/ccagent/v1/appeasements/app370003").respond(
        json={**appeasement, "state": "SUBMITTED"}
    )

    mock.post(f"{BIZ_BASE}/api/v1/shop/complaint/create").mock(
        side_effect=[
            httpx.Response(200, json={"id": "a1b2c3d4e5f6g7h8"}),
            httpx.Response(
                400,
                json={
                    "error": {
                        "code": "INTERNAL_VALIDATION_FAILED",
                        "message": f"description is invalid {echo}",
                        "description": "",
                    }
                },
            ),
        ]
    )
    mock.get(f"{BIZ_BASE}/api/v1/shop/complaint/detail").respond(
        json={"exist": True, "id": "a1b2c3d4e5f6g7h8", "status": "open", "events": []}
    )


async def run_conversation(tmp_path: Path, backend: str) -> None:
    """Start, a complaint registered, the list, its status, and a second complaint refused."""
    settings = make_settings(
        tmp_path / f"{backend}.sqlite3",
        telegram_bot_token=BOT_TOKEN,
        webhook_secret=WEBHOOK_SECRET,
        deep_link_secret=DEEP_LINK_SECRET,
        operator_chat_id=-100123,
        **BACKENDS[backend],
    )
    with respx.mock(assert_all_called=False) as mock:
        mock_backends(mock, ECHOES[backend])
        async with httpx.AsyncClient() as client:
            bot = HttpBotHarness(settings, http_client=client)
            await bot.start()
            try:
                ada = bot.customer()
                await ada.send("/start")
                await ada.file_complaint()
                await bot.settle()
                assert "registered" in ada.messages()[-1].text
                await ada.send("/mycomplaints")
                [entry] = await bot.built.services.ledger.for_customer(ada.id, limit=1)
                assert entry.complaint_number
                status = await ada.send(f"/status {entry.complaint_number}")
                assert entry.complaint_number in status.text
                await ada.file_complaint(order_id="ECHO-2", problem="Please echo my secrets.")
                await bot.settle()
            finally:
                await bot.stop()


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("backend", list(BACKENDS))
async def test_no_secret_in_debug_logs_of_a_whole_conversation(
    tmp_path: Path, backend: str, fmt: str
) -> None:
    settings_secrets = [BOT_TOKEN, WEBHOOK_SECRET, DEEP_LINK_SECRET]
    settings_secrets += [MW_PASSWORD, MW_TOKEN, OCC_PASSWORD, BIZ_KEY]
    with captured_logs(fmt, settings_secrets) as buffer:
        await run_conversation(tmp_path, backend)
    output = buffer.getvalue()

    # The capture saw the libraries' own request logs, and the token in their URLs was removed.
    assert "HTTP Request: POST https://api.telegram.org/bot" in output
    assert f"bot{REDACTED}/sendMessage" in output
    assert "Calling Bot API endpoint `sendMessage`" in output  # PTB's own DEBUG logging
    if backend != "local":
        host = {"occ": OCC_BASE, "bizkithub": BIZ_BASE}.get(backend, MW_BASE)
        assert f"HTTP Request: POST {host}/" in output  # httpx's log of the backend's calls
        assert "was rejected by" in output  # the echoing refusal was logged
    for name, forms in FORMS.items():
        for form in forms:
            assert form not in output, f"the {name} leaked into the {fmt} log"
    if fmt == "json":
        lines = output.splitlines()
        assert lines and all(json.loads(line)["level"] for line in lines)


def test_the_redactor_removes_secret_shapes_whatever_their_value() -> None:
    redact = Redactor([])
    samples = {
        "GET https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe": (
            "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
        ),
        "headers {'Authorization': 'Bearer abc.def.ghi'}": "abc.def.ghi",
        "headers {b'Authorization': b'Basic dXNlcjpwYXNz'}": "dXNlcjpwYXNz",
        "Authorization: Basic dXNlcjpwYXNz": "dXNlcjpwYXNz",
        "form grant_type=password&username=agent&password=hunter2hunter2": "hunter2hunter2",
        'login answered {"access_token": "eyJraWQiOi.abc", "expires_in": 900}': "eyJraWQiOi",
        "login answered {'access_token': 'eyJraWQiOi.abc'}": "eyJraWQiOi",
        'body {"password": "hunter2hunter2"}': "hunter2hunter2",
        "url https://x.example/api?apiKey=k3y-value-1": "k3y-value-1",
    }
    for text, secret in samples.items():
        assert secret not in redact(text), text


def test_known_secrets_with_json_special_characters_are_redacted_in_json_lines() -> None:
    secret = 'pa"ss\\word-with-quotes'
    root = logging.getLogger()
    with captured_logs("json", [secret]) as buffer:
        root.warning("the password is %s", secret)
        try:
            raise ValueError(f"boom {secret}")
        except ValueError:
            root.exception("failed")
    output = buffer.getvalue()
    assert secret not in output and json.dumps(secret)[1:-1] not in output
    assert output.count(REDACTED) >= 2


def test_a_crash_is_logged_redacted_not_printed_raw(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB's InvalidToken quotes the token; an uncaught one must still not print it."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    with captured_logs("text", [BOT_TOKEN]) as buffer:
        assert sys.excepthook is log_uncaught
        try:
            raise InvalidToken(f"The token `{BOT_TOKEN}` was rejected by the server.")
        except InvalidToken as err:
            sys.excepthook(type(err), err, err.__traceback__)
    output = buffer.getvalue()
    assert "CRITICAL bot: Stopped by an uncaught InvalidToken" in output
    assert BOT_TOKEN not in output and BOT_TOKEN.split(":")[1] not in output
    assert f"The token `{REDACTED}` was rejected" in output
