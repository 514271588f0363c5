"""Tests of the BizKitHub backend against the seed 003 examples, with respx standing in."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from bot.backends.base import (
    BackendBadResponse,
    BackendOutcomeUnknown,
    BackendRejected,
    BackendUnavailable,
    Receipt,
    RejectionReason,
    StatusCode,
    Submission,
)
from bot.backends.bizkithub import BizKitHubBackend
from bot.complaint import (
    Attachment,
    ClaimedAmount,
    ClaimedItem,
    ComplaintEnvelope,
    ContactInfo,
    Customer,
    build_envelope,
)
from bot.config import Settings

# The key of the seed's own examples (PROD + 28 letters), and its host.
KEY = "PRODPGrFxpGEtrOZfuWhnoJohUYBXuOE"
BASE = "https://api.bizkithub.com"
CREATE = "/api/v1/shop/complaint/create"
DETAIL = "/api/v1/shop/complaint/detail"
PROBLEM = "Product arrived damaged, visible scratch on the surface."
SEED_ID = "a1b2c3d4e5f6g7h8"
VARIANTS = {"delivery": "vraceni", "payment": "vymena", "*": "reklamace"}
LOGGER = "bot.backends.bizkithub"


def envelope(
    *,
    first_name: str | None = "Jan",
    last_name: str | None = "Novák",
    username: str | None = None,
    category: str = "product-related",
) -> ComplaintEnvelope:
    """The seed's example complaint as the conversation would build it."""
    customer = Customer(user_id=4242, first_name=first_name, last_name=last_name, username=username)
    return build_envelope(
        customer,
        order_id="25000087",
        problem=PROBLEM,
        category=category,
        interest_type="productComplaint",
        language_code="cs",
    )


def submission(env: ComplaintEnvelope | None = None) -> Submission:
    return Submission(key="idem-1", envelope=env or envelope())


def error(code: str, message: str = "", description: str = "") -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "description": description}}


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


@pytest.fixture
def backend(client: httpx.AsyncClient) -> BizKitHubBackend:
    return BizKitHubBackend(client, base_url=BASE, api_key=SecretStr(KEY), variants=VARIANTS)


def assert_key_only_in_header(request: httpx.Request) -> None:
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert KEY not in str(request.url)
    assert "apiKey" not in str(request.url)
    assert KEY not in request.content.decode()


# --- submit -------------------------------------------------------------------------------


async def test_submit_sends_the_seed_example_and_reads_the_id(router, backend):
    route = router.post(CREATE).respond(200, json={"id": SEED_ID})

    receipt = await backend.submit(submission())

    assert receipt == Receipt(number=SEED_ID, reference=SEED_ID, state="new")
    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}{CREATE}"
    assert json.loads(request.content) == {
        "variantCode": "reklamace",
        "orderNumber": "25000087",
        "description": PROBLEM,
        "customerName": "Jan Novák",
    }
    assert_key_only_in_header(request)


@pytest.mark.parametrize(
    ("category", "variant"),
    [
        ("delivery", "vraceni"),
        ("payment", "vymena"),
        ("product-related", "reklamace"),
        ("other", "reklamace"),
    ],
)
async def test_variant_comes_from_the_map_with_star_default(router, backend, category, variant):
    route = router.post(CREATE).respond(200, json={"id": SEED_ID})

    await backend.submit(submission(envelope(category=category)))

    assert json.loads(route.calls.last.request.content)["variantCode"] == variant


async def test_category_without_variant_is_misconfigured_and_sends_nothing(router, client):
    backend = BizKitHubBackend(
        client, base_url=BASE, api_key=SecretStr(KEY), variants={"delivery": "vraceni"}
    )
    route = router.post(CREATE).respond(200, json={"id": SEED_ID})

    with pytest.raises(BackendRejected) as caught:
        await backend.submit(submission())

    assert caught.value.reason is RejectionReason.MISCONFIGURED
    assert not route.called


@pytest.mark.parametrize(
    ("first_name", "last_name", "username", "expected"),
    [
        ("Jan", "Novák", "jnovak", "Jan Novák"),
        ("Jan", None, "jnovak", "Jan"),
        (None, None, "jnovak", "jnovak"),
        (None, None, None, "Telegram user 4242"),
    ],
)
async def test_customer_name_fallbacks(router, backend, first_name, last_name, username, expected):
    route = router.post(CREATE).respond(200, json={"id": SEED_ID})
    env = envelope(first_name=first_name, last_name=last_name, username=username)

    await backend.submit(submission(env))

    assert json.loads(route.calls.last.request.content)["customerName"] == expected


async def test_from_settings_uses_url_key_and_variants(router, client):
    settings = Settings(
        _env_file=None,
        complaint_backend="bizkithub",
        bizkithub_api_key=KEY,
        bizkithub_variants="delivery=vraceni,*=reklamace",
    )
    backend = BizKitHubBackend.from_settings(settings, client)
    route = router.post(CREATE).respond(200, json={"id": SEED_ID})

    await backend.submit(submission(envelope(category="delivery")))

    request = route.calls.last.request
    assert json.loads(request.content)["variantCode"] == "vraceni"
    assert_key_only_in_header(request)
    assert backend.name == "bizkithub"


# --- submit errors ------------------------------------------------------------------------

KEY_CODES = [
    "PUBLIC_API_KEY_DOES_NOT_EXIST",
    "PUBLIC_API_KEY_IS_NOT_IN_VALID_FORMAT",
    "PUBLIC_API_KEY_HAS_BEEN_EXPIRED",
    "PUBLIC_API_KEY_IS_NOT_ACTIVE",
    "PUBLIC_API_KEY_HAS_NO_PERMISSION",
]


@pytest.mark.parametrize("code", KEY_CODES)
async def test_key_error_is_misconfigured_with_one_warning_naming_the_code(
    router, backend, caplog, code
):
    # The backend echoing the key must not carry it into our messages either.
    body = error(code, f"API key {KEY} is not usable", "Check your key.")
    router.post(CREATE).respond(404, json=body)

    with caplog.at_level(logging.DEBUG, logger=LOGGER), pytest.raises(BackendRejected) as caught:
        await backend.submit(submission())

    assert caught.value.reason is RejectionReason.MISCONFIGURED
    assert code in caught.value.detail
    assert KEY not in str(caught.value)
    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert code in warnings[0].getMessage()
    assert KEY not in caplog.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (error("INTERNAL_VALIDATION_FAILED", "Field description is too short."), "problem"),
        (error("INTERNAL_VALIDATION_FAILED", "Invalid input", "orderNumber is missing"), "order"),
        (error("INTERNAL_VALIDATION_FAILED", "customerName must not be empty"), "name"),
        (error("INTERNAL_VALIDATION_FAILED", 'Variant "variantCode" is not active'), "category"),
        (error("INTERNAL_VALIDATION_FAILED", "email is not a valid e-mail address"), "email"),
        (
            {"error": {"code": "INTERNAL_VALIDATION_FAILED", "message": "x", "field": "phone"}},
            "phone",
        ),
        (error("INTERNAL_VALIDATION_FAILED", "Something is wrong"), ""),
    ],
)
async def test_validation_error_names_the_field_in_our_words(router, backend, body, field):
    router.post(CREATE).respond(400, json=body)

    with pytest.raises(BackendRejected) as caught:
        await backend.submit(submission())

    assert caught.value.reason is RejectionReason.INVALID_INPUT
    assert caught.value.field == field


@pytest.mark.parametrize("code", ["INTERNAL_TOO_MANY_REQUESTS", "RATE_LIMIT_EXCEEDED"])
async def test_429_is_unavailable_honouring_retry_after(router, backend, code):
    router.post(CREATE).respond(429, json=error(code), headers={"Retry-After": "17"})

    with pytest.raises(BackendUnavailable) as caught:
        await backend.submit(submission())

    assert caught.value.retry_after == 17


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_unavailable(router, backend, status):
    router.post(CREATE).respond(status, text="<html>down</html>")

    with pytest.raises(BackendUnavailable):
        await backend.submit(submission())


@pytest.mark.parametrize("exception", [httpx.ConnectTimeout("slow"), httpx.ConnectError("no")])
async def test_a_create_that_never_left_is_unavailable(router, backend, exception):
    router.post(CREATE).mock(side_effect=exception)

    with pytest.raises(BackendUnavailable) as caught:
        await backend.submit(submission())

    assert KEY not in str(caught.value)


@pytest.mark.parametrize(
    "exception", [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")]
)
async def test_a_create_without_an_answer_is_an_unknown_outcome(router, backend, exception):
    # BizKitHub has no idempotency key: calling again could file a second complaint.
    router.post(CREATE).mock(side_effect=exception)

    with pytest.raises(BackendOutcomeUnknown) as caught:
        await backend.submit(submission())

    assert "may be filed" in caught.value.detail and KEY not in str(caught.value)


async def test_an_attempt_after_a_create_sent_without_an_outcome_does_not_call(router, backend):
    route = router.post(CREATE).respond(200, json={"id": "a1b2c3d4e5f6g7h8"})
    saved: list[dict[str, str]] = []

    async def save(checkpoint):
        saved.append(dict(checkpoint))

    first = Submission(key="k-1", envelope=submission().envelope, save_checkpoint=save)
    receipt = await backend.submit(first)
    assert receipt.number == "a1b2c3d4e5f6g7h8"
    assert saved == [{"create_sent": "1"}]  # marked before the call
    # The bot stopped during a create: the next attempt finds the mark and does not call.
    again = Submission(key="k-1", envelope=submission().envelope, checkpoint=saved[-1])
    with pytest.raises(BackendOutcomeUnknown, match="stopped meanwhile"):
        await backend.submit(again)
    assert route.call_count == 1


async def test_a_refused_create_clears_the_mark_so_it_may_be_retried(router, backend):
    router.post(CREATE).respond(503, text="busy")
    saved: list[dict[str, str]] = []

    async def save(checkpoint):
        saved.append(dict(checkpoint))

    with pytest.raises(BackendUnavailable):
        await backend.submit(
            Submission(key="k-2", envelope=submission().envelope, save_checkpoint=save)
        )
    assert saved == [{"create_sent": "1"}, {}]


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>ok</html>"),
        httpx.Response(200, json={}),
        httpx.Response(200, json={"id": ""}),
        httpx.Response(200, json={"id": None}),
        httpx.Response(200, json=[SEED_ID]),
    ],
)
async def test_a_create_answered_without_a_readable_id_is_an_unknown_outcome(
    router, backend, response
):
    router.post(CREATE).mock(return_value=response)

    with pytest.raises(BackendOutcomeUnknown):
        await backend.submit(submission())


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(400, json=error("ORDER_HASH_IS_INVALID", "orderHash is not 32 chars")),
        httpx.Response(409, json=error("CONFLICT")),
        httpx.Response(404, text="Not Found"),
        httpx.Response(422, text="nope"),
    ],
)
async def test_other_4xx_is_rejected_other(router, backend, response):
    router.post(CREATE).mock(return_value=response)

    with pytest.raises(BackendRejected) as caught:
        await backend.submit(submission())

    assert caught.value.reason is RejectionReason.OTHER


# --- status -------------------------------------------------------------------------------

RECEIPT = Receipt(number=SEED_ID, reference=SEED_ID, state="new")


def detail(status: str, events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "exist": True,
        "id": SEED_ID,
        "orderNumber": "25000087",
        "variant": {"code": "reklamace", "label": "Reklamace"},
        "status": status,
        "isResolved": status in ("resolve", "closed"),
        "events": events or [],
    }


EVENTS: list[dict[str, Any]] = [
    {"message": "Complaint created.", "createdAt": "2026-01-10T10:00:00Z", "isPublic": True},
    {"message": "We are inspecting it.", "createdAt": "2026-01-11T10:00:00Z", "isPublic": True},
    {"message": "Internal: courier at fault.", "createdAt": "2026-01-12T10:00:00Z"},
]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("new", StatusCode.RECEIVED),
        ("open", StatusCode.IN_PROGRESS),
        ("wait", StatusCode.WAITING),
        ("resolve", StatusCode.RESOLVED),
        ("reject", StatusCode.REJECTED),
        ("closed", StatusCode.CLOSED),
        ("escalated", StatusCode.UNKNOWN),
    ],
)
async def test_status_maps_every_status_and_picks_last_shared_event(router, backend, raw, code):
    route = router.get(DETAIL).respond(200, json=detail(raw, EVENTS))

    status = await backend.status(RECEIPT, envelope())

    assert status.code is code
    assert status.text == raw
    assert status.detail == "We are inspecting it."
    request = route.calls.last.request
    assert request.url.params["id"] == SEED_ID
    assert_key_only_in_header(request)


@pytest.mark.parametrize("flag", ["isPublic", "public", "visibleToCustomer", "sharedWithCustomer"])
async def test_every_customer_flag_counts(router, backend, flag):
    events: list[dict[str, Any]] = [
        {"text": "Shared note.", "date": "2026-01-11", flag: "true" if flag == "public" else 1},
        {"text": "Hidden note.", "date": "2026-01-12", flag: False},
    ]
    router.get(DETAIL).respond(200, json=detail("open", events))

    assert (await backend.status(RECEIPT, envelope())).detail == "Shared note."


async def test_dates_decide_when_events_come_newest_first(router, backend):
    router.get(DETAIL).respond(200, json=detail("open", list(reversed(EVENTS))))

    assert (await backend.status(RECEIPT, envelope())).detail == "We are inspecting it."


@pytest.mark.parametrize("events", [[], [EVENTS[2]], None])
async def test_no_shared_event_gives_empty_detail(router, backend, events):
    body = detail("new", events)
    if events is None:
        del body["events"]
    router.get(DETAIL).respond(200, json=body)

    status = await backend.status(RECEIPT, envelope())

    assert (status.code, status.detail) == (StatusCode.RECEIVED, "")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"exist": False}),
        httpx.Response(404, json=error("COMPLAINT_DOES_NOT_EXIST", "No such complaint")),
    ],
)
async def test_unknown_complaint_is_not_found(router, backend, response):
    router.get(DETAIL).mock(return_value=response)

    with pytest.raises(BackendRejected) as caught:
        await backend.status(RECEIPT, envelope())

    assert caught.value.reason is RejectionReason.NOT_FOUND


async def test_status_key_error_is_misconfigured(router, backend):
    router.get(DETAIL).respond(404, json=error("PUBLIC_API_KEY_HAS_BEEN_EXPIRED"))

    with pytest.raises(BackendRejected) as caught:
        await backend.status(RECEIPT, envelope())

    assert caught.value.reason is RejectionReason.MISCONFIGURED


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(503), BackendUnavailable),
        (httpx.Response(429, headers={"Retry-After": "5"}), BackendUnavailable),
        (httpx.Response(200, text="not json"), BackendBadResponse),
        (httpx.Response(200, json=["open"]), BackendBadResponse),
    ],
)
async def test_status_errors(router, backend, response, expected):
    router.get(DETAIL).mock(return_value=response)

    with pytest.raises(expected):
        await backend.status(RECEIPT, envelope())


async def test_status_timeout_is_unavailable(router, backend):
    router.get(DETAIL).mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(BackendUnavailable):
        await backend.status(RECEIPT, envelope())


# --- probe --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"exist": False}),
        httpx.Response(404, json=error("COMPLAINT_DOES_NOT_EXIST")),
        httpx.Response(400, json=error("INTERNAL_VALIDATION_FAILED", "id is not valid")),
    ],
)
async def test_probe_accepts_any_answer_but_a_key_error(router, backend, response):
    route = router.get(DETAIL).mock(return_value=response)

    assert await backend.probe() == "BizKitHub key accepted at api.bizkithub.com"
    request = route.calls.last.request
    assert request.url.params["id"] == "probe-0"
    assert_key_only_in_header(request)


async def test_probe_key_error_is_misconfigured(router, backend, caplog):
    router.get(DETAIL).respond(404, json=error("PUBLIC_API_KEY_DOES_NOT_EXIST"))

    with caplog.at_level(logging.WARNING, logger=LOGGER), pytest.raises(BackendRejected) as caught:
        await backend.probe()

    assert caught.value.reason is RejectionReason.MISCONFIGURED
    assert "PUBLIC_API_KEY_DOES_NOT_EXIST" in caplog.text
    assert KEY not in caplog.text


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(503), BackendUnavailable),
        (httpx.Response(200, text="<html>"), BackendBadResponse),
    ],
)
async def test_probe_errors(router, backend, response, expected):
    router.get(DETAIL).mock(return_value=response)

    with pytest.raises(expected):
        await backend.probe()


# --- the solution wanted, the contact and the files ----------------------------------------

SEED_RESOLUTIONS = {"refund": "refund", "replacement": "exchange", "repair": "repair", "*": ""}


def evidence_envelope(resolution: str, *, urls: bool = False) -> ComplaintEnvelope:
    """The seed's complaint with a solution, the seed's e-mail and phone, and three photos."""
    photos = tuple(
        Attachment(
            kind="photo",
            fileId=f"AgACphoto-{n}",
            fileUniqueId=f"AQAD{n}",
            mimeType="image/jpeg",
            size=250_000,
            url=f"https://bot.example.com/media/token-{n}" if urls else None,
        )
        for n in (1, 2, 3)
    )
    return build_envelope(
        Customer(user_id=4242, first_name="Jan", last_name="Novák"),
        order_id="25000087",
        problem=PROBLEM,
        category="product-related",
        interest_type="productComplaint",
        language_code="cs",
        resolution=resolution,
        attachments=photos,
        contact=ContactInfo(phone="+420777123456", email="jan@barasek.com"),
    )


async def test_the_solution_contact_and_files_fill_the_seed_fields(router, client):
    backend = BizKitHubBackend(
        client,
        base_url=BASE,
        api_key=SecretStr(KEY),
        variants=VARIANTS,
        resolutions=SEED_RESOLUTIONS,
    )
    route = router.post(CREATE).respond(200, json={"id": SEED_ID})

    await backend.submit(submission(evidence_envelope("replacement", urls=True)))

    body = json.loads(route.calls.last.request.content)
    assert body["resolutionMethodCode"] == "exchange"  # the seed's code for a replacement
    assert body["email"] == "jan@barasek.com"
    assert body["phone"] == "+420777123456"
    description = body["description"]
    assert description.startswith(PROBLEM + "\n\nFiles (3):\n")
    for n in (1, 2, 3):
        assert f"{n}. photo, image/jpeg, 244 KB: https://bot.example.com/media/token-{n}" in (
            description
        )


async def test_a_solution_mapped_to_nothing_sends_no_method_and_files_name_their_ids(
    router, client
):
    backend = BizKitHubBackend(
        client,
        base_url=BASE,
        api_key=SecretStr(KEY),
        variants=VARIANTS,
        resolutions=SEED_RESOLUTIONS,
    )
    route = router.post(CREATE).respond(200, json={"id": SEED_ID})

    await backend.submit(submission(evidence_envelope("none")))

    body = json.loads(route.calls.last.request.content)
    assert "resolutionMethodCode" not in body
    assert "1. photo, image/jpeg, 244 KB: Telegram file_id AgACphoto-1" in body["description"]


def test_from_settings_reads_bizkithub_resolutions(client):
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        complaint_backend="bizkithub",
        bizkithub_api_key=KEY,
        bizkithub_resolutions="refund=vraceni-penez,*=",
    )
    backend = BizKitHubBackend.from_settings(settings, client)
    assert backend.payload(evidence_envelope("refund"))["resolutionMethodCode"] == "vraceni-penez"
    assert "resolutionMethodCode" not in backend.payload(evidence_envelope("repair"))


# --- what is claimed ----------------------------------------------------------------------


def claimed_envelope(order_id: str) -> ComplaintEnvelope:
    return build_envelope(
        Customer(user_id=4242, first_name="Jan", last_name="Novák"),
        order_id=order_id,
        problem=PROBLEM,
        category="product-related",
        interest_type="productComplaint",
        language_code="cs",
        items=[ClaimedItem(label="Wireless headphones Model X", quantity=1)],
        amount=ClaimedAmount(value=2490.0, currency="CZK"),
        refund_account="CZ6508000000192000145399",
    )


@pytest.mark.parametrize(
    ("order_id", "symbol"),
    [("25000087", "25000087"), ("ORD-25000087", None), ("12345678901", None)],
)
def test_the_variable_symbol_is_the_order_number_only_when_it_is_one(
    backend: BizKitHubBackend, order_id: str, symbol: str | None
) -> None:
    body = backend.payload(claimed_envelope(order_id))
    assert body.get("refundVariableSymbol") == symbol
    assert body["refundBankAccount"] == "CZ6508000000192000145399"
    assert body["refundCountry"] == "CZ" and body["price"] == 2490.0
    assert "dueDate" not in body  # COMPLAINT_DUE_DAYS unset


def test_the_due_date_counts_from_the_confirmation(client: httpx.AsyncClient) -> None:
    backend = BizKitHubBackend(
        client, base_url=BASE, api_key=SecretStr(KEY), variants=VARIANTS, due_days=30
    )
    confirmed = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
    body = backend.payload(envelope(), confirmed_at=confirmed)
    assert body["dueDate"] == "2026-01-31T00:00:00.000Z"
    assert "items" not in body and "price" not in body  # nothing claimed, nothing sent
