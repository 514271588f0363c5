"""Tests of the middleware adapter (seed 000): what it sends, what it reads, how it fails."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from bot.backends.base import (
    BackendError,
    BackendOutcomeUnknown,
    BackendRejected,
    BackendUnavailable,
    Card,
    Media,
    Receipt,
    RejectionReason,
    StatusCode,
    Submission,
)
from bot.backends.middleware import MiddlewareBackend
from bot.complaint import Attachment, ComplaintEnvelope, ContactInfo, Customer, build_envelope
from bot.config import Settings

BASE = "https://middleware.example.com"
RAISE_URL = f"{BASE}/api/rest/v1/ecom/integrations/raiseComplaintsAgainstOrder"
TRACK_URL = f"{BASE}/api/rest/v1/ecom/integrations/getComplaintsTrackingDetails"
PASSWORD = "pa55-w0rd-very-secret"
TOKEN = "tok-abcdef-0123456789-secret"
BASIC = base64.b64encode(f"bot-user:{PASSWORD}".encode()).decode()

# Seed 000, "Example Request", as the document prints it.
SEED_REQUEST = json.loads("""
{
    "conversationRequest": {
        "channel": "TELEGRAM",
        "userInfo": {
            "first_name": "Vignesh",
            "last_name": "M",
            "uid": "39987",
            "username": "vigneshm"
        }
    },
    "queryInfo": {
        "interestType": "productComplaint",
        "parameters": {
            "params": {
                "entityInfo": {
                    "orderId": "748596",
                    "problemStatment": "Product Not working. Need to service.",
                    "category": "product-related"
                }
            }
        }
    },
    "languageCode": "en"
}
""")

# Seed 000, "Example Response", as the document prints it.
SEED_RESPONSE = json.loads("""
{
  "response": {
    "responseType": "container",
    "responseId": "be49e7a0-8638-486b-899b-be42e3760b46-e15c53b8",
    "responseMessages": [{
      "containerResponse": {
        "responseText": "Your complaint is registered. Raised a complaint Number 12345 to track.",
        "attributes": [{
            "name": "orderId",
            "value": "748596"
          },
          {
            "name": "complaintId",
            "value": "12345"
          },
          {
            "name": "Category",
            "value": "products-related"
          }
        ]
      }
    }]
  }
}
""")


def seed_envelope(interest_type: str = "productComplaint") -> ComplaintEnvelope:
    """The seed's example complaint, built as the bot builds every complaint."""
    return build_envelope(
        Customer(user_id=39987, first_name="Vignesh", last_name="M", username="vigneshm"),
        order_id="748596",
        problem="Product Not working. Need to service.",
        category="product-related",
        interest_type=interest_type,
        language_code="en",
    )


def submission(key: str = "complaint-key-1") -> Submission:
    return Submission(key=key, envelope=seed_envelope())


def wrapped(*messages: dict[str, Any], response_type: str = "text") -> dict[str, Any]:
    return {"response": {"responseType": response_type, "responseMessages": list(messages)}}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield http


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def backend(client: httpx.AsyncClient) -> MiddlewareBackend:
    return MiddlewareBackend(
        client,
        base_url=BASE + "/",
        interest_type="productComplaint",
        username="bot-user",
        password=SecretStr(PASSWORD),
    )


# --- what is sent -------------------------------------------------------------------------


async def test_request_body_is_the_seed_example(mock: respx.MockRouter, backend: MiddlewareBackend):
    route = mock.post(RAISE_URL).respond(200, json=SEED_RESPONSE)

    await backend.submit(submission("key-42"))

    request = route.calls.last.request
    assert json.loads(request.content) == SEED_REQUEST
    assert request.headers["Idempotency-Key"] == "key-42"
    assert request.headers["Content-Type"] == "application/json"


async def test_the_solution_files_and_contact_travel_inside_entity_info(
    mock: respx.MockRouter, backend: MiddlewareBackend
):
    route = mock.post(RAISE_URL).respond(200, json=SEED_RESPONSE)
    photos = tuple(
        Attachment(
            kind="photo",
            fileId=f"AgACphoto-{n}",
            fileUniqueId=f"AQAD{n}",
            mimeType="image/jpeg",
            size=120_000 + n,
            url=f"https://bot.example.com/media/t{n}",
        )
        for n in (1, 2, 3)
    )
    envelope = build_envelope(
        Customer(user_id=39987, first_name="Vignesh", last_name="M", username="vigneshm"),
        order_id="748596",
        problem="Product Not working. Need to service.",
        category="product-related",
        interest_type="productComplaint",
        language_code="en",
        resolution="replacement",
        attachments=photos,
        contact=ContactInfo(phone="+919876543210"),
    )

    await backend.submit(Submission(key="k", envelope=envelope))

    sent = json.loads(route.calls.last.request.content)
    entity = sent["queryInfo"]["parameters"]["params"]["entityInfo"]
    seed_entity = SEED_REQUEST["queryInfo"]["parameters"]["params"]["entityInfo"]
    assert {k: entity[k] for k in seed_entity} == seed_entity  # the seed's fields unchanged
    assert entity["resolution"] == "replacement"
    assert entity["attachments"] == [
        {
            "kind": "photo",
            "fileId": f"AgACphoto-{n}",
            "fileUniqueId": f"AQAD{n}",
            "mimeType": "image/jpeg",
            "size": 120_000 + n,
            "url": f"https://bot.example.com/media/t{n}",
        }
        for n in (1, 2, 3)
    ]
    assert entity["contact"] == {"phone": "+919876543210"}
    assert sent["conversationRequest"] == SEED_REQUEST["conversationRequest"]


async def test_configured_interest_type_replaces_the_envelopes(
    mock: respx.MockRouter, client: httpx.AsyncClient
):
    route = mock.post(RAISE_URL).respond(200, json=SEED_RESPONSE)
    backend = MiddlewareBackend(
        client, base_url=BASE, interest_type="raise-complaints", token=SecretStr(TOKEN)
    )

    await backend.submit(Submission(key="k", envelope=seed_envelope("productComplaint")))

    sent = json.loads(route.calls.last.request.content)
    assert sent["queryInfo"]["interestType"] == "raise-complaints"


async def test_basic_auth_header(mock: respx.MockRouter, backend: MiddlewareBackend):
    route = mock.post(RAISE_URL).respond(200, json=SEED_RESPONSE)

    await backend.submit(submission())

    expected = base64.b64encode(f"bot-user:{PASSWORD}".encode()).decode()
    assert route.calls.last.request.headers["Authorization"] == f"Basic {expected}"


async def test_bearer_token_wins_over_basic(mock: respx.MockRouter, client: httpx.AsyncClient):
    route = mock.post(RAISE_URL).respond(200, json=SEED_RESPONSE)
    backend = MiddlewareBackend(
        client,
        base_url=BASE,
        interest_type="productComplaint",
        username="bot-user",
        password=SecretStr(PASSWORD),
        token=SecretStr(TOKEN),
    )

    await backend.submit(submission())

    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_from_settings_uses_the_middleware_settings(
    mock: respx.MockRouter, client: httpx.AsyncClient
):
    route = mock.post(RAISE_URL).respond(200, json=SEED_RESPONSE)
    settings = Settings(
        _env_file=None,
        complaint_backend="middleware",
        middleware_base_url=BASE,
        middleware_token=SecretStr(TOKEN),
        middleware_interest_type="complaints-v2",
    )
    backend = MiddlewareBackend.from_settings(settings, client)

    await backend.submit(submission())

    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.content)["queryInfo"]["interestType"] == "complaints-v2"


# --- what is read -------------------------------------------------------------------------


async def test_seed_example_response(mock: respx.MockRouter, backend: MiddlewareBackend):
    mock.post(RAISE_URL).respond(200, json=SEED_RESPONSE)

    receipt = await backend.submit(submission())

    assert receipt.number == "12345"
    assert receipt.reference == "12345"
    assert ("orderId", "748596") in receipt.attributes
    assert ("complaintId", "12345") in receipt.attributes
    assert ("Category", "products-related") in receipt.attributes
    assert "complaint Number 12345" in receipt.text


async def test_text_only_answer_number_from_text(
    mock: respx.MockRouter, backend: MiddlewareBackend
):
    answer = wrapped({"simpleResponse": {"responseText": "Complaint no. 98765 has been raised."}})
    mock.post(RAISE_URL).respond(200, json=answer)

    receipt = await backend.submit(submission())

    assert receipt.number == "98765"
    assert receipt.text == "Complaint no. 98765 has been raised."
    assert receipt.attributes == ()


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Raised a complaint Number 12345 to track.", "12345"),
        ("Your complaint number is 555.", "555"),
        ("complaint #4711 created", "4711"),
        ("Complaint ID: AB-123.", "AB-123"),
        ("Your complaint is registered: complaint no 77", "77"),
    ],
)
async def test_number_read_from_various_texts(
    mock: respx.MockRouter, backend: MiddlewareBackend, text: str, number: str
):
    mock.post(RAISE_URL).respond(200, json=wrapped({"simpleResponse": {"responseText": text}}))

    receipt = await backend.submit(submission())

    assert receipt.number == number


async def test_card_with_image(mock: respx.MockRouter, backend: MiddlewareBackend):
    card = {
        "basicCard": {
            "title": "Complaint #C-2024-7",
            "subtitle": "Order 748596",
            "formattedText": "We will call you within two days.",
            "image": {"url": "https://cdn.example.com/ok.png", "accessibilityText": "A tick"},
        }
    }
    mock.post(RAISE_URL).respond(200, json=wrapped(card, response_type="card"))

    receipt = await backend.submit(submission())

    assert receipt.number == "C-2024-7"
    assert receipt.cards == (
        Card(
            title="Complaint #C-2024-7",
            subtitle="Order 748596",
            text="We will call you within two days.",
            image_url="https://cdn.example.com/ok.png",
            image_alt="A tick",
        ),
    )


async def test_media_answer(mock: respx.MockRouter, backend: MiddlewareBackend):
    answer = wrapped(
        {"simpleResponse": {"responseText": "Complaint number 31337 raised."}},
        {
            "mediaResponse": {
                "mediaType": "AUDIO",
                "mediaObjects": [
                    {
                        "contentUrl": "https://cdn.example.com/msg.mp3",
                        "description": "A message from us",
                        "name": "Thank you",
                        "icon": {"url": "https://cdn.example.com/icon.png"},
                    },
                    {"name": "icon only", "icon": {"url": "https://cdn.example.com/i2.png"}},
                ],
            }
        },
        response_type="media",
    )
    mock.post(RAISE_URL).respond(200, json=answer)

    receipt = await backend.submit(submission())

    assert receipt.number == "31337"
    assert receipt.media == (
        Media(
            media_type="AUDIO",
            url="https://cdn.example.com/msg.mp3",
            name="Thank you",
            description="A message from us",
        ),
        Media(media_type="AUDIO", url="https://cdn.example.com/i2.png", name="icon only"),
    )


async def test_unwrapped_answer(mock: respx.MockRouter, backend: MiddlewareBackend):
    mock.post(RAISE_URL).respond(200, json=SEED_RESPONSE["response"])

    receipt = await backend.submit(submission())

    assert receipt.number == "12345"
    assert ("orderId", "748596") in receipt.attributes


async def test_attribute_name_in_any_case(mock: respx.MockRouter, backend: MiddlewareBackend):
    answer = wrapped(
        {
            "containerResponse": {
                "responseText": "Thank you, we are on it.",
                "attributes": [{"name": "COMPLAINTID", "value": 4242}],
            }
        },
        response_type="container",
    )
    mock.post(RAISE_URL).respond(200, json=answer)

    receipt = await backend.submit(submission())

    assert receipt.number == "4242"
    assert receipt.attributes == (("COMPLAINTID", "4242"),)


async def test_several_messages_in_one_answer(mock: respx.MockRouter, backend: MiddlewareBackend):
    answer = wrapped(
        {"simpleResponse": {"responseText": "Thanks for writing to us."}},
        {
            "containerResponse": {
                "responseText": "Raised a complaint Number 900 to track.",
                "attributes": [{"name": "complaintId", "value": "900"}],
            }
        },
        {"basicCard": {"title": "What happens next", "formattedText": "A call within 2 days."}},
    )
    mock.post(RAISE_URL).respond(200, json=answer)

    receipt = await backend.submit(submission())

    assert receipt.number == "900"
    assert receipt.text == "Thanks for writing to us.\nRaised a complaint Number 900 to track."
    assert receipt.cards == (Card(title="What happens next", text="A call within 2 days."),)


async def test_answer_without_number_is_an_unknown_outcome(
    mock: respx.MockRouter, backend: MiddlewareBackend
):
    answer = wrapped({"simpleResponse": {"responseText": "Your complaint is registered."}})
    mock.post(RAISE_URL).respond(200, json=answer)

    with pytest.raises(BackendOutcomeUnknown):
        await backend.submit(submission())


@pytest.mark.parametrize(
    "body",
    [
        {"response": {"responseMessages": {"simpleResponse": {"responseText": "no 1"}}}},
        {"response": "Complaint number 5"},
        {"status": "ok"},
        {"responseMessages": ["Complaint number 5"]},
    ],
    ids=["messages-not-a-list", "response-not-an-object", "no-messages", "message-not-object"],
)
async def test_nonsense_json_is_an_unknown_outcome(
    mock: respx.MockRouter, backend: MiddlewareBackend, body: Any
):
    mock.post(RAISE_URL).respond(200, json=body)

    with pytest.raises(BackendOutcomeUnknown):
        await backend.submit(submission())


# --- how it fails -------------------------------------------------------------------------


async def test_a_create_that_never_left_is_unavailable(
    mock: respx.MockRouter, backend: MiddlewareBackend
):
    mock.post(RAISE_URL).mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(BackendUnavailable):
        await backend.submit(submission())


async def test_a_create_without_an_answer_is_an_unknown_outcome(
    mock: respx.MockRouter, backend: MiddlewareBackend
):
    # The API documents no promise to honour Idempotency-Key: a second create could file twice.
    mock.post(RAISE_URL).mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(BackendOutcomeUnknown):
        await backend.submit(submission())


async def test_a_middleware_that_honours_the_key_is_simply_retried(
    mock: respx.MockRouter, client: httpx.AsyncClient
):
    backend = MiddlewareBackend(
        client, base_url=BASE + "/", interest_type="productComplaint", honours_idempotency_key=True
    )
    mock.post(RAISE_URL).mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(BackendUnavailable) as caught:
        await backend.submit(submission())
    assert not isinstance(caught.value, BackendOutcomeUnknown)


@pytest.mark.parametrize("code", [500, 503])
async def test_server_errors_are_unavailable(
    mock: respx.MockRouter, backend: MiddlewareBackend, code: int
):
    mock.post(RAISE_URL).respond(code, text="<html>oops</html>")

    with pytest.raises(BackendUnavailable, match=str(code)):
        await backend.submit(submission())


async def test_429_honours_retry_after(mock: respx.MockRouter, backend: MiddlewareBackend):
    mock.post(RAISE_URL).respond(429, headers={"Retry-After": "7"})

    with pytest.raises(BackendUnavailable) as caught:
        await backend.submit(submission())

    assert caught.value.retry_after == 7


@pytest.mark.parametrize("code", [401, 403])
async def test_refused_credentials_are_misconfiguration_and_logged_once(
    mock: respx.MockRouter,
    backend: MiddlewareBackend,
    caplog: pytest.LogCaptureFixture,
    code: int,
):
    mock.post(RAISE_URL).respond(code, json={"message": "bad credentials"})

    with caplog.at_level(logging.WARNING), pytest.raises(BackendRejected) as caught:
        await backend.submit(submission())

    assert caught.value.reason is RejectionReason.MISCONFIGURED
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        f"middleware rejected our credentials (HTTP {code})"
    ]
    assert PASSWORD not in caplog.text


async def test_400_is_rejected(mock: respx.MockRouter, backend: MiddlewareBackend):
    mock.post(RAISE_URL).respond(400, json={"message": "problemStatment is too long"})

    with pytest.raises(BackendRejected) as caught:
        await backend.submit(submission())

    assert caught.value.reason is RejectionReason.OTHER
    assert "HTTP 400" in caught.value.detail
    assert "problemStatment is too long" in caught.value.detail


async def test_non_json_body_is_an_unknown_outcome(
    mock: respx.MockRouter, backend: MiddlewareBackend
):
    mock.post(RAISE_URL).respond(200, text="<html>Welcome to nginx</html>")

    with pytest.raises(BackendOutcomeUnknown):
        await backend.submit(submission())


async def test_json_list_is_an_unknown_outcome(mock: respx.MockRouter, backend: MiddlewareBackend):
    mock.post(RAISE_URL).respond(200, json=[SEED_RESPONSE])

    with pytest.raises(BackendOutcomeUnknown):
        await backend.submit(submission())


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(401, json={"message": f"bad password {PASSWORD}"}),
        httpx.Response(400, json={"message": f"token {TOKEN} / {PASSWORD} not allowed"}),
        httpx.Response(400, json={"message": f"header Basic {BASIC} not allowed"}),
        httpx.Response(500, text=f"Authorization: Bearer {TOKEN}"),
        httpx.Response(200, text=f"not json {PASSWORD}"),
        httpx.ConnectError(f"cannot connect to https://u:{PASSWORD}@host"),
        httpx.ReadTimeout(f"timeout {TOKEN}"),
    ],
    ids=["401", "400", "400-basic", "500", "not-json", "connect", "timeout"],
)
@pytest.mark.parametrize("auth", ["basic", "bearer"])
async def test_secrets_never_in_error_messages(
    mock: respx.MockRouter,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    reply: httpx.Response | Exception,
    auth: str,
):
    if isinstance(reply, Exception):
        mock.post(RAISE_URL).mock(side_effect=reply)
        mock.post(TRACK_URL).mock(side_effect=reply)
    else:
        mock.post(RAISE_URL).mock(return_value=reply)
        mock.post(TRACK_URL).mock(return_value=reply)
    secrets = [PASSWORD, BASIC] if auth == "basic" else [TOKEN]
    credentials: dict[str, Any] = (
        {"username": "bot-user", "password": SecretStr(PASSWORD)}
        if auth == "basic"
        else {"token": SecretStr(TOKEN)}
    )
    backend = MiddlewareBackend(
        client, base_url=BASE, interest_type="productComplaint", **credentials
    )
    receipt = Receipt(number="1", reference="1")
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: backend.submit(submission()),
        lambda: backend.status(receipt, seed_envelope()),
        backend.probe,
    ]

    said: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for call in calls:
            try:
                said.append(str(await call()))
            except BackendError as err:
                said.extend((str(err), repr(err), err.detail))
    said.append(caplog.text)
    for secret in secrets:
        assert not [text for text in said if secret in text]


# --- status -------------------------------------------------------------------------------


async def test_status_asks_for_tracking_details(mock: respx.MockRouter, backend: MiddlewareBackend):
    text = "Your complaint 12345 is being handled by our service team."
    route = mock.post(TRACK_URL).respond(
        200, json=wrapped({"simpleResponse": {"responseText": text}})
    )
    receipt = Receipt(number="12345", reference="12345")

    status = await backend.status(receipt, seed_envelope())

    sent = json.loads(route.calls.last.request.content)
    expected = json.loads(json.dumps(SEED_REQUEST))
    expected["queryInfo"]["parameters"]["params"]["entityInfo"]["complaintId"] = "12345"
    assert sent == expected
    assert route.calls.last.request.headers["Authorization"].startswith("Basic ")
    assert status.text == text
    assert status.code is StatusCode.IN_PROGRESS


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Your complaint 12345 has been resolved. Thank you!", StatusCode.RESOLVED),
        ("Complaint 12345 is closed.", StatusCode.CLOSED),
        ("Your complaint was rejected: the warranty has expired.", StatusCode.REJECTED),
        ("We are waiting for the courier's report.", StatusCode.WAITING),
        ("Your complaint is registered.", StatusCode.RECEIVED),
        ("Your complaint is not yet resolved; a technician is assigned.", StatusCode.IN_PROGRESS),
        ("Thank you for contacting us.", StatusCode.UNKNOWN),
    ],
)
async def test_status_words(
    mock: respx.MockRouter, backend: MiddlewareBackend, text: str, code: StatusCode
):
    mock.post(TRACK_URL).respond(200, json=wrapped({"simpleResponse": {"responseText": text}}))

    status = await backend.status(Receipt(number="12345", reference="12345"), seed_envelope())

    assert status.code is code
    assert status.text == text


async def test_status_attribute_wins_over_words(mock: respx.MockRouter, backend: MiddlewareBackend):
    answer = {
        "responseMessages": [
            {
                "containerResponse": {
                    "responseText": "Here is what we know about complaint 12345.",
                    "attributes": [{"name": "Status", "value": "RESOLVED"}],
                }
            }
        ]
    }
    mock.post(TRACK_URL).respond(200, json=answer)

    status = await backend.status(Receipt(number="12345", reference="12345"), seed_envelope())

    assert status.code is StatusCode.RESOLVED
    assert status.text == "Here is what we know about complaint 12345."


async def test_status_of_unknown_complaint_is_not_found(
    mock: respx.MockRouter, backend: MiddlewareBackend
):
    mock.post(TRACK_URL).respond(404, json={"message": "no such complaint"})

    with pytest.raises(BackendRejected) as caught:
        await backend.status(Receipt(number="1", reference="1"), seed_envelope())

    assert caught.value.reason is RejectionReason.NOT_FOUND


# --- probe --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [200, 400, 404])
async def test_probe_reports_reachable_host(
    mock: respx.MockRouter, client: httpx.AsyncClient, code: int
):
    route = mock.post(TRACK_URL).respond(code, json={"message": "no such complaint"})
    backend = MiddlewareBackend(
        client, base_url=BASE, interest_type="productComplaint", token=SecretStr(TOKEN)
    )

    said = await backend.probe()

    assert "middleware.example.com" in said
    assert TOKEN not in said
    sent = json.loads(route.calls.last.request.content)
    assert sent["conversationRequest"]["userInfo"]["uid"] == "probe"
    assert sent["queryInfo"]["parameters"]["params"]["entityInfo"]["complaintId"] == "0"


async def test_probe_with_refused_credentials(mock: respx.MockRouter, backend: MiddlewareBackend):
    mock.post(TRACK_URL).respond(401)

    with pytest.raises(BackendRejected) as caught:
        await backend.probe()

    assert caught.value.reason is RejectionReason.MISCONFIGURED


@pytest.mark.parametrize("reply", [httpx.Response(503), httpx.ConnectError("down")])
async def test_probe_of_unreachable_host(
    mock: respx.MockRouter, backend: MiddlewareBackend, reply: httpx.Response | Exception
):
    if isinstance(reply, Exception):
        mock.post(TRACK_URL).mock(side_effect=reply)
    else:
        mock.post(TRACK_URL).mock(return_value=reply)

    with pytest.raises(BackendUnavailable):
        await backend.probe()
