"""Tests of the OCC backend against the seed 002 shapes, with respx standing in for OCC."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from pydantic import SecretStr

from bot.backends.base import (
    BackendBadResponse,
    BackendError,
    BackendRejected,
    BackendUnavailable,
    Checkpoint,
    Receipt,
    RejectionReason,
    StatusCode,
    Submission,
)
from bot.backends.occ import OccBackend, appeasement_id_for, status_code_for
from bot.complaint import Attachment, ComplaintEnvelope, ContactInfo, Customer, build_envelope
from bot.config import Settings

BASE = "https://occ.example.com"
LOGIN = "/ccagent/v1/login"
APPEASEMENTS = "/ccagent/v1/appeasements"
SUBMIT = "/ccagent/v1/appeasements/submit"
SEED_ID = "app370003"
READ = f"{APPEASEMENTS}/{SEED_ID}"
# The id the bot chooses for complaint idem-1's appeasement (createAppeasement takes it).
OWN_ID = appeasement_id_for("idem-1")
OWN_READ = f"{APPEASEMENTS}/{OWN_ID}"
USERNAME = "agent@example.com"
PASSWORD = "Sup3r-Secret-Agent-Passw0rd"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlLXRva2VuLTE"
SITE = "siteUS"
REASONS = {"product-related": "itemArrivedDamaged", "delivery": "orderArrivedLate", "*": "other"}
PROBLEM = "Customer complained that the order has arrived damaged, and asked for a refund."
LOGGER = "bot.backends.occ"

# The seed's submitAppeasement 200 example, verbatim.
SEED_SUBMITTED: dict[str, Any] = {
    "reason": "itemArrivedDamaged",
    "agentId": "service",
    "notes": "Customer complained that the order has arrived damaged, and asked for a refund. "
    "Providing 15 USD.",
    "comments": [
        {
            "agentId": "service",
            "comment": "Appeasement to be settled on priority. Valued customer.",
            "id": 100001,
            "creationDate": "2020-03-20T04:56:13.935Z",
        }
    ],
    "orderId": "o10068",
    "damagedLineItemId": "ci123547",
    "lastModifiedDate": "2020-04-05T15:52:22.622Z",
    "appeasementRefunds": [
        {
            "paymentGroupId": 123556,
            "refundType": "creditCard",
            "amount": 5,
            "id": "3200006",
            "state": "INCOMPLETE",
            "currencyCode": "USD",
        },
        {
            "paymentGroupId": 123456,
            "refundType": "externalRefund",
            "amount": 10,
            "customerPreferredGiftCardId": None,
            "id": "3200007",
            "state": "INCOMPLETE",
            "currencyCode": "USD",
        },
    ],
    "submittedDate": "2020-04-05T15:52:22.622Z",
    "creationDate": "2020-04-05T15:52:22.622Z",
    "type": "order",
    "profileId": "se-570031",
    "links": [{"rel": "self", "href": "http://localhost:9080/ccagentui/v1/appeasements/submit"}],
    "state": "SUBMITTED",
    "id": SEED_ID,
    "originOfAppeasement": "agent",
}


def appeasement(state: str = "SUBMITTED", appeasement_id: str = SEED_ID) -> dict[str, Any]:
    """The seed's appeasement in another state (as created: INCOMPLETE, not yet submitted)."""
    body = copy.deepcopy(SEED_SUBMITTED)
    body.update(state=state, id=appeasement_id)
    if state == "INCOMPLETE":
        del body["submittedDate"]
    return body


def occ_error(
    code: str, message: str = "", path: str | None = None, status: int = 400
) -> dict[str, Any]:
    """An error answer of the seed's errorModel."""
    body: dict[str, Any] = {
        "errorCode": code,
        "message": message,
        "status": str(status),
        "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
    }
    if path is not None:
        body["o:errorPath"] = path
    return body


def envelope(
    *,
    category: str = "product-related",
    language: str = "en-US",
    first_name: str | None = "Ada",
    last_name: str | None = "Lovelace",
    username: str | None = "ada",
) -> ComplaintEnvelope:
    """A confirmed complaint about the seed's order o10068."""
    customer = Customer(user_id=4242, first_name=first_name, last_name=last_name, username=username)
    return build_envelope(
        customer,
        order_id="o10068",
        problem=PROBLEM,
        category=category,
        interest_type="productComplaint",
        language_code=language,
    )


class Recorder:
    """A save_checkpoint that records what it saved, into a shared event list."""

    def __init__(self, events: list[tuple[str, Any]]) -> None:
        self.events = events

    async def __call__(self, values: Checkpoint) -> None:
        self.events.append(("checkpoint", dict(values)))


def submission(
    env: ComplaintEnvelope | None = None,
    *,
    checkpoint: Checkpoint | None = None,
    events: list[tuple[str, Any]] | None = None,
) -> Submission:
    return Submission(
        key="idem-1",
        envelope=env or envelope(),
        checkpoint=checkpoint or {},
        save_checkpoint=Recorder(events) if events is not None else None,
    )


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def token_response(token: str = TOKEN, expires_in: int = 900) -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": token, "token_type": "bearer", "expires_in": expires_in}
    )


def bearer(request: httpx.Request) -> str:
    return request.headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(client: httpx.AsyncClient, clock: FakeClock) -> OccBackend:
    return OccBackend(
        client,
        base_url=BASE,
        username=USERNAME,
        password=SecretStr(PASSWORD),
        site_id=SITE,
        reasons=REASONS,
        clock=clock,
    )


@pytest.fixture
def login(router: respx.MockRouter) -> respx.Route:
    """A login that hands out tok-1, tok-2, … (15 minutes each)."""
    issued = 0

    def issue(request: httpx.Request) -> httpx.Response:
        nonlocal issued
        issued += 1
        return token_response(f"tok-{issued}")

    return router.post(LOGIN).mock(side_effect=issue)


@pytest.fixture
def occ(router: respx.MockRouter, login: respx.Route) -> dict[str, respx.Route]:
    """OCC answering the documented shapes: create → INCOMPLETE, submit → SUBMITTED."""
    return {
        "create": router.post(APPEASEMENTS).respond(200, json=appeasement("INCOMPLETE")),
        "submit": router.post(SUBMIT).respond(200, json=appeasement("SUBMITTED")),
        "read": router.get(READ).respond(200, json=appeasement("SUBMITTED")),
        # None under the id we choose: what an earlier version created is looked for instead.
        "own": router.get(OWN_READ).respond(
            404, json=occ_error("900002", "Appeasement not found", status=404)
        ),
    }


def body_of(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


# --- login and token -------------------------------------------------------------------------


async def test_login_posts_the_documented_form(
    backend: OccBackend, login: respx.Route, occ: dict[str, respx.Route]
) -> None:
    await backend.submit(submission())

    request = login.calls.last.request
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["password"],
        "username": [USERNAME],
        "password": [PASSWORD],
    }
    assert request.headers["X-CCSite"] == SITE
    assert "Authorization" not in request.headers


async def test_the_token_is_reused_across_calls(
    backend: OccBackend, login: respx.Route, occ: dict[str, respx.Route]
) -> None:
    receipt = await backend.submit(submission())
    await backend.submit(submission())
    await backend.status(receipt, envelope())

    assert login.call_count == 1
    calls = [*occ["create"].calls, *occ["submit"].calls, *occ["read"].calls]
    assert {bearer(call.request) for call in calls} == {"tok-1"}


async def test_the_token_is_renewed_shortly_before_it_expires(
    backend: OccBackend, login: respx.Route, occ: dict[str, respx.Route], clock: FakeClock
) -> None:
    receipt = Receipt(number=SEED_ID, reference=SEED_ID)
    await backend.status(receipt, envelope())
    clock.advance(900 - 61)  # 15 minutes less a little more than the 60 s margin
    await backend.status(receipt, envelope())
    assert login.call_count == 1

    clock.advance(2)  # now inside the last minute: renewed before OCC would answer 401
    await backend.status(receipt, envelope())
    assert login.call_count == 2
    assert bearer(occ["read"].calls.last.request) == "tok-2"


async def test_a_short_lived_token_is_renewed_at_ninety_percent(
    backend: OccBackend, router: respx.MockRouter, occ: dict[str, respx.Route], clock: FakeClock
) -> None:
    login = router.post(LOGIN).mock(return_value=token_response(expires_in=100))
    receipt = Receipt(number=SEED_ID, reference=SEED_ID)
    await backend.status(receipt, envelope())
    clock.advance(89)
    await backend.status(receipt, envelope())
    assert login.call_count == 1
    clock.advance(2)
    await backend.status(receipt, envelope())
    assert login.call_count == 2


async def test_a_401_logs_in_again_once_and_retries_the_call(
    backend: OccBackend, router: respx.MockRouter, login: respx.Route
) -> None:
    def create(request: httpx.Request) -> httpx.Response:
        if bearer(request) == "tok-1":
            return httpx.Response(401, json={"errorCode": "40101", "status": "401"})
        return httpx.Response(200, json=appeasement("INCOMPLETE"))

    create_route = router.post(APPEASEMENTS).mock(side_effect=create)
    router.post(SUBMIT).respond(200, json=appeasement())

    receipt = await backend.submit(submission())

    assert receipt.number == SEED_ID
    assert login.call_count == 2
    assert [bearer(c.request) for c in create_route.calls] == ["tok-1", "tok-2"]


async def test_a_second_401_after_a_fresh_login_is_misconfigured(
    backend: OccBackend,
    router: respx.MockRouter,
    login: respx.Route,
    caplog: pytest.LogCaptureFixture,
) -> None:
    create = router.post(APPEASEMENTS).respond(401)
    submit = router.post(SUBMIT).respond(200, json=appeasement())

    with caplog.at_level(logging.WARNING, logger=LOGGER), pytest.raises(BackendRejected) as err:
        await backend.submit(submission())

    assert err.value.reason is RejectionReason.MISCONFIGURED
    assert login.call_count == 2
    assert create.call_count == 2
    assert not submit.called
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "401" in warnings[0].getMessage()


async def test_concurrent_401s_share_one_new_login(
    backend: OccBackend, router: respx.MockRouter, login: respx.Route
) -> None:
    def read(request: httpx.Request) -> httpx.Response:
        if bearer(request) == "tok-1":
            return httpx.Response(401)
        return httpx.Response(200, json=appeasement())

    router.get(READ).mock(side_effect=read)
    receipt = Receipt(number=SEED_ID, reference=SEED_ID)
    await backend.status(receipt, envelope())  # tok-1 refused → tok-2
    assert login.call_count == 2

    # Expire tok-2 in OCC's eyes only: every call gets one 401 with it, then tok-3 works.
    def read_again(request: httpx.Request) -> httpx.Response:
        if bearer(request) in ("tok-1", "tok-2"):
            return httpx.Response(401)
        return httpx.Response(200, json=appeasement())

    router.get(READ).mock(side_effect=read_again)
    results = await asyncio.gather(*(backend.status(receipt, envelope()) for _ in range(10)))
    assert all(r.code is StatusCode.IN_PROGRESS for r in results)
    assert login.call_count == 3


async def test_twenty_concurrent_submissions_log_in_once(
    backend: OccBackend, router: respx.MockRouter
) -> None:
    async def slow_login(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.02)
        return token_response()

    login = router.post(LOGIN).mock(side_effect=slow_login)
    created = 0

    def create(request: httpx.Request) -> httpx.Response:
        nonlocal created
        created += 1
        return httpx.Response(200, json=appeasement("INCOMPLETE", f"app{created}"))

    def submit(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=appeasement("SUBMITTED", json.loads(request.content)["id"]))

    router.post(APPEASEMENTS).mock(side_effect=create)
    router.post(SUBMIT).mock(side_effect=submit)

    receipts = await asyncio.gather(*(backend.submit(submission()) for _ in range(20)))

    assert login.call_count == 1
    assert sorted(r.number for r in receipts) == sorted(f"app{i}" for i in range(1, 21))


async def test_twenty_concurrent_submissions_with_wrong_credentials_try_once(
    backend: OccBackend, router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    async def refuse(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.02)
        return httpx.Response(401, json={"error": "invalid_grant"})

    login = router.post(LOGIN).mock(side_effect=refuse)
    create = router.post(APPEASEMENTS).respond(200, json=appeasement("INCOMPLETE"))

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        results = await asyncio.gather(
            *(backend.submit(submission()) for _ in range(20)), return_exceptions=True
        )

    assert login.call_count == 1
    assert not create.called
    assert all(isinstance(r, BackendRejected) for r in results)
    assert {r.reason for r in results if isinstance(r, BackendRejected)} == {
        RejectionReason.MISCONFIGURED
    }
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


@pytest.mark.parametrize("status", [400, 401, 403])
async def test_a_refused_login_is_misconfigured_with_one_warning(
    backend: OccBackend,
    router: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    router.post(LOGIN).respond(status, json={"error": "invalid_grant"})
    create = router.post(APPEASEMENTS).respond(200, json=appeasement("INCOMPLETE"))

    with caplog.at_level(logging.WARNING, logger=LOGGER), pytest.raises(BackendRejected) as err:
        await backend.submit(submission())

    assert err.value.reason is RejectionReason.MISCONFIGURED
    assert not create.called
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "OCC refused the agent credentials" in warnings[0]
    assert f"HTTP {status} on login" in warnings[0]
    assert PASSWORD not in warnings[0]
    assert PASSWORD not in str(err.value)


async def test_a_login_refusing_the_site_names_the_site(
    backend: OccBackend, router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    router.post(LOGIN).respond(400, json=occ_error("30014", "Invalid site siteUS"))
    with caplog.at_level(logging.WARNING, logger=LOGGER), pytest.raises(BackendRejected) as err:
        await backend.submit(submission())
    assert err.value.reason is RejectionReason.MISCONFIGURED
    assert "OCC_SITE_ID" in caplog.text


async def test_a_login_without_a_token_is_a_bad_response(
    backend: OccBackend, router: respx.MockRouter
) -> None:
    router.post(LOGIN).respond(200, json={"token_type": "bearer", "expires_in": 900})
    with pytest.raises(BackendBadResponse):
        await backend.submit(submission())


async def test_a_login_that_is_not_json_is_a_bad_response(
    backend: OccBackend, router: respx.MockRouter
) -> None:
    router.post(LOGIN).respond(200, text="<html>maintenance</html>")
    with pytest.raises(BackendBadResponse):
        await backend.submit(submission())


async def test_a_login_without_expires_in_lasts_fifteen_minutes(
    backend: OccBackend, router: respx.MockRouter, occ: dict[str, respx.Route], clock: FakeClock
) -> None:
    login = router.post(LOGIN).respond(200, json={"access_token": TOKEN})
    receipt = Receipt(number=SEED_ID, reference=SEED_ID)
    await backend.status(receipt, envelope())
    clock.advance(800)
    await backend.status(receipt, envelope())
    assert login.call_count == 1
    clock.advance(60)
    await backend.status(receipt, envelope())
    assert login.call_count == 2


# --- submit ----------------------------------------------------------------------------------


async def test_create_checkpoint_then_submit_the_same_id(
    backend: OccBackend, router: respx.MockRouter, login: respx.Route
) -> None:
    events: list[tuple[str, Any]] = []

    def create(request: httpx.Request) -> httpx.Response:
        events.append(("create", json.loads(request.content)))
        return httpx.Response(200, json=appeasement("INCOMPLETE"))

    def submit(request: httpx.Request) -> httpx.Response:
        events.append(("submit", json.loads(request.content)))
        return httpx.Response(200, json=appeasement("SUBMITTED"))

    router.post(APPEASEMENTS).mock(side_effect=create)
    router.post(SUBMIT).mock(side_effect=submit)

    receipt = await backend.submit(submission(events=events))

    assert [kind for kind, _ in events] == ["checkpoint", "create", "checkpoint", "submit"]
    assert events[0][1] == {"creating": "1"}  # a lost answer is looked for before a new create
    assert events[1][1] == {
        "id": OWN_ID,  # ours: a create repeated after a lost answer makes no second one
        "reason": "itemArrivedDamaged",
        "orderId": "o10068",
        "type": "order",
        "notes": PROBLEM,
        "comments": [
            {
                "comment": "Filed via Telegram by Ada Lovelace (Telegram user id 4242), "
                "reference idem-1"
            }
        ],
    }
    assert events[2][1] == {"appeasement_id": SEED_ID}
    assert events[3][1] == {"id": SEED_ID}
    assert receipt == Receipt(
        number=SEED_ID,
        reference=SEED_ID,
        state="SUBMITTED",
        attributes=(("Order", "o10068"), ("State", "SUBMITTED")),
    )


async def test_a_crash_after_the_checkpoint_leaves_the_id_saved(
    backend: OccBackend, router: respx.MockRouter, login: respx.Route
) -> None:
    events: list[tuple[str, Any]] = []
    router.post(APPEASEMENTS).respond(200, json=appeasement("INCOMPLETE"))
    router.post(SUBMIT).mock(side_effect=httpx.ReadTimeout("read timed out"))

    with pytest.raises(BackendUnavailable):
        await backend.submit(submission(events=events))
    assert events[-1] == ("checkpoint", {"appeasement_id": SEED_ID})


@pytest.mark.parametrize(
    ("category", "reason"),
    [
        ("product-related", "itemArrivedDamaged"),
        ("delivery", "orderArrivedLate"),
        ("payment", "other"),
    ],
)
async def test_the_category_chooses_the_reason(
    backend: OccBackend, occ: dict[str, respx.Route], category: str, reason: str
) -> None:
    await backend.submit(submission(envelope(category=category)))
    assert body_of(occ["create"])["reason"] == reason


async def test_the_comment_falls_back_to_the_username(
    backend: OccBackend, occ: dict[str, respx.Route]
) -> None:
    await backend.submit(submission(envelope(first_name=None, last_name=None)))
    assert body_of(occ["create"])["comments"] == [
        {"comment": "Filed via Telegram by ada (Telegram user id 4242), reference idem-1"}
    ]


async def test_a_retry_that_finds_the_appeasement_submitted_does_not_submit_again(
    backend: OccBackend, occ: dict[str, respx.Route]
) -> None:
    events: list[tuple[str, Any]] = []
    retry = submission(checkpoint={"appeasement_id": SEED_ID}, events=events)

    receipt = await backend.submit(retry)

    assert occ["read"].call_count == 1
    assert not occ["create"].called
    assert not occ["submit"].called
    assert events == []
    assert receipt.number == SEED_ID
    assert receipt.reference == SEED_ID
    assert receipt.state == "SUBMITTED"


@pytest.mark.parametrize("state", ["APPROVED", "PENDING_APPROVAL", "REJECTED"])
async def test_a_retry_never_submits_an_appeasement_past_incomplete(
    backend: OccBackend, router: respx.MockRouter, occ: dict[str, respx.Route], state: str
) -> None:
    router.get(READ).respond(200, json=appeasement(state))
    receipt = await backend.submit(submission(checkpoint={"appeasement_id": SEED_ID}))
    assert receipt.state == state
    assert not occ["submit"].called
    assert not occ["create"].called


async def test_a_retry_that_finds_the_appeasement_incomplete_submits_it(
    backend: OccBackend, router: respx.MockRouter, occ: dict[str, respx.Route]
) -> None:
    router.get(READ).respond(200, json=appeasement("INCOMPLETE"))

    receipt = await backend.submit(submission(checkpoint={"appeasement_id": SEED_ID}))

    assert not occ["create"].called
    assert occ["submit"].call_count == 1
    assert body_of(occ["submit"]) == {"id": SEED_ID}
    assert receipt.state == "SUBMITTED"


async def test_a_retry_whose_appeasement_vanished_creates_no_other(
    backend: OccBackend, router: respx.MockRouter, occ: dict[str, respx.Route]
) -> None:
    router.get(READ).respond(404, json=occ_error("900002", "Appeasement not found", status=404))
    with pytest.raises(BackendRejected) as err:
        await backend.submit(submission(checkpoint={"appeasement_id": SEED_ID}))
    assert err.value.reason is RejectionReason.NOT_FOUND
    assert not occ["create"].called
    assert not occ["submit"].called


def listing(*items: dict[str, Any]) -> dict[str, Any]:
    """A listAppeasements answer (GET /ccagent/v1/appeasements?q=…)."""
    return {"items": list(items), "totalResults": len(items), "offset": 0, "limit": 250}


def ours(state: str = "INCOMPLETE", appeasement_id: str = SEED_ID) -> dict[str, Any]:
    """The appeasement an earlier attempt of complaint idem-1 created."""
    body = appeasement(state, appeasement_id)
    body["comments"] = [
        {"comment": "Filed via Telegram by Ada Lovelace (Telegram user id 4242), reference idem-1"}
    ]
    return body


async def test_a_create_whose_answer_was_lost_is_found_and_adopted_not_made_twice(
    backend: OccBackend, router: respx.MockRouter, occ: dict[str, respx.Route]
) -> None:
    """The create reached OCC, but its answer did not reach us (a read timeout): the retry
    finds the appeasement by the complaint's reference and submits that one."""
    occ["create"].mock(side_effect=httpx.ReadTimeout("read timed out"))
    events: list[tuple[str, Any]] = []
    with pytest.raises(BackendUnavailable):
        await backend.submit(submission(events=events))
    assert events == [("checkpoint", {"creating": "1"})]

    other = appeasement("SUBMITTED", "app111")  # another complaint about the same order
    search = router.get(APPEASEMENTS).respond(200, json=listing(other, ours()))
    router.get(READ).respond(200, json=ours())
    retry = submission(checkpoint={"creating": "1"}, events=events)
    receipt = await backend.submit(retry)

    assert occ["create"].call_count == 1
    assert parse_qs(search.calls[0].request.url.query.decode())["q"] == ['orderId eq "o10068"']
    assert events[-1] == ("checkpoint", {"appeasement_id": SEED_ID})
    assert body_of(occ["submit"]) == {"id": SEED_ID}
    assert receipt.number == SEED_ID


async def test_a_create_whose_answer_was_lost_is_read_back_by_the_id_we_chose(
    backend: OccBackend, router: respx.MockRouter, occ: dict[str, respx.Route]
) -> None:
    occ["create"].mock(side_effect=httpx.ReadTimeout("read timed out"))
    events: list[tuple[str, Any]] = []
    with pytest.raises(BackendUnavailable):
        await backend.submit(submission(events=events))
    assert body_of(occ["create"])["id"] == OWN_ID

    occ["own"].respond(200, json=ours("INCOMPLETE", OWN_ID))  # OCC did create it
    search = router.get(APPEASEMENTS).respond(200, json=listing())
    receipt = await backend.submit(submission(checkpoint={"creating": "1"}, events=events))

    assert occ["create"].call_count == 1 and not search.called
    assert events[-1] == ("checkpoint", {"appeasement_id": OWN_ID})
    assert body_of(occ["submit"]) == {"id": OWN_ID}
    assert receipt.state == "SUBMITTED"


async def test_a_listing_without_comments_is_read_one_by_one(
    backend: OccBackend, router: respx.MockRouter, occ: dict[str, respx.Route]
) -> None:
    bare = {"id": SEED_ID, "state": "SUBMITTED", "orderId": "o10068"}
    router.get(APPEASEMENTS).respond(200, json=listing(bare))
    router.get(READ).respond(200, json=ours("SUBMITTED"))
    receipt = await backend.submit(submission(checkpoint={"creating": "1"}))
    assert not occ["create"].called and not occ["submit"].called  # submitted already
    assert receipt.state == "SUBMITTED"


async def test_a_create_that_never_reached_occ_is_made_once_on_retry(
    backend: OccBackend, router: respx.MockRouter, occ: dict[str, respx.Route]
) -> None:
    router.get(APPEASEMENTS).respond(200, json=listing(appeasement("SUBMITTED", "app111")))
    receipt = await backend.submit(submission(checkpoint={"creating": "1"}))
    assert occ["create"].call_count == 1
    assert receipt.number == SEED_ID


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(403, json=occ_error("", "Access denied", status=403)),
        httpx.Response(503),
        httpx.Response(200, json={"unexpected": True}),
    ],
    ids=["forbidden", "unavailable", "unreadable"],
)
async def test_no_second_create_while_the_first_cannot_be_ruled_out(
    backend: OccBackend,
    router: respx.MockRouter,
    occ: dict[str, respx.Route],
    answer: httpx.Response,
) -> None:
    router.get(APPEASEMENTS).mock(return_value=answer)
    with pytest.raises((BackendUnavailable, BackendBadResponse)):
        await backend.submit(submission(checkpoint={"creating": "1"}))
    assert not occ["create"].called


async def test_requests_carry_bearer_site_and_language(
    backend: OccBackend, occ: dict[str, respx.Route]
) -> None:
    receipt = await backend.submit(submission(envelope(language="de")))
    await backend.status(receipt, envelope(language="fr-CA"))

    for route, language in ((occ["create"], "de"), (occ["submit"], "de"), (occ["read"], "fr-CA")):
        headers = route.calls.last.request.headers
        assert headers["Authorization"] == "Bearer tok-1"
        assert headers["X-CCSite"] == SITE
        assert headers["X-CCAsset-Language"] == language
    assert occ["create"].calls.last.request.headers["Content-Type"] == "application/json"


async def test_no_site_header_without_a_site(
    client: httpx.AsyncClient, occ: dict[str, respx.Route], login: respx.Route
) -> None:
    backend = OccBackend(
        client,
        base_url=BASE + "/",
        username=USERNAME,
        password=SecretStr(PASSWORD),
        site_id=None,
        reasons=REASONS,
    )
    await backend.submit(submission())
    assert "X-CCSite" not in login.calls.last.request.headers
    assert "X-CCSite" not in occ["create"].calls.last.request.headers


# --- errors ----------------------------------------------------------------------------------

SUBMIT_ERRORS = [
    pytest.param(
        occ_error("13001", "Invalid reason: foo", path="reason"),
        RejectionReason.INVALID_INPUT,
        "reason",
        id="13001-field",
    ),
    pytest.param(
        occ_error("13001", "Invalid value", path="orderId"),
        RejectionReason.ORDER_NOT_FOUND,
        "",
        id="13001-orderId-path",
    ),
    pytest.param(
        occ_error("13001", "Order o10068 is not in SUBMITTED or FULFILLED state"),
        RejectionReason.ORDER_NOT_FOUND,
        "",
        id="13001-order-message",
    ),
    pytest.param(
        occ_error("13001", "Invalid appeasement type 'order'", path="type"),
        RejectionReason.INVALID_INPUT,
        "type",
        id="13001-type-is-not-about-the-order",
    ),
    pytest.param(
        {
            "errorCode": "13001",
            "message": "The input is invalid",
            "status": "400",
            "errors": [{"errorCode": "13001", "message": "bad", "o:errorPath": "notes"}],
        },
        RejectionReason.INVALID_INPUT,
        "notes",
        id="13001-nested-errors",
    ),
    pytest.param(
        occ_error("900016", "Appeasement refused by the validation webhook"),
        RejectionReason.REFUSED,
        "",
        id="900016",
    ),
    pytest.param(
        occ_error("900017", "Invalid refund type", path="appeasementRefunds[0].refundType"),
        RejectionReason.INVALID_INPUT,
        "appeasementRefunds[0].refundType",
        id="900017",
    ),
    pytest.param(
        occ_error("30014", "Invalid site siteUS"),
        RejectionReason.MISCONFIGURED,
        "",
        id="30014",
    ),
    pytest.param(
        occ_error("900002", "No order found with id o10068", status=404),
        RejectionReason.ORDER_NOT_FOUND,
        "",
        id="900002-order",
    ),
    pytest.param(
        {"errorCode": 13001, "message": "numeric code", "o:errorPath": "reason"},
        RejectionReason.INVALID_INPUT,
        "reason",
        id="numeric-errorCode",
    ),
    pytest.param(
        {"message": "something else entirely"},
        RejectionReason.OTHER,
        "",
        id="unknown",
    ),
]


@pytest.mark.parametrize(("body", "reason", "field"), SUBMIT_ERRORS)
async def test_errors_of_the_create(
    backend: OccBackend,
    router: respx.MockRouter,
    occ: dict[str, respx.Route],
    body: dict[str, Any],
    reason: RejectionReason,
    field: str,
) -> None:
    router.post(APPEASEMENTS).respond(int(body.get("status", 400)), json=body)
    events: list[tuple[str, Any]] = []
    with pytest.raises(BackendRejected) as err:
        await backend.submit(submission(events=events))
    assert err.value.reason is reason
    assert err.value.field == field
    assert not occ["submit"].called
    assert events == [("checkpoint", {"creating": "1"})]  # nothing was created


@pytest.mark.parametrize(("body", "reason", "field"), SUBMIT_ERRORS)
async def test_errors_of_the_submit(
    backend: OccBackend,
    router: respx.MockRouter,
    occ: dict[str, respx.Route],
    body: dict[str, Any],
    reason: RejectionReason,
    field: str,
) -> None:
    router.post(SUBMIT).respond(int(body.get("status", 400)), json=body)
    with pytest.raises(BackendRejected) as err:
        await backend.submit(submission())
    assert err.value.reason is reason
    assert err.value.field == field


async def test_900002_on_submit_about_the_appeasement_is_not_found(
    backend: OccBackend, router: respx.MockRouter, occ: dict[str, respx.Route]
) -> None:
    router.post(SUBMIT).respond(404, json=occ_error("900002", "Appeasement app370003 not found"))
    with pytest.raises(BackendRejected) as err:
        await backend.submit(submission())
    assert err.value.reason is RejectionReason.NOT_FOUND


async def test_a_403_is_misconfigured_with_one_warning(
    backend: OccBackend,
    router: respx.MockRouter,
    occ: dict[str, respx.Route],
    caplog: pytest.LogCaptureFixture,
) -> None:
    router.post(APPEASEMENTS).respond(403, json={"status": "403", "message": "Forbidden"})
    with caplog.at_level(logging.WARNING, logger=LOGGER), pytest.raises(BackendRejected) as err:
        await backend.submit(submission())
    assert err.value.reason is RejectionReason.MISCONFIGURED
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "403" in warnings[0]


@pytest.mark.parametrize("code", ["900000", "900001", "900015"])
@pytest.mark.parametrize("status", [400, 500])
async def test_internal_error_codes_are_unavailable(
    backend: OccBackend,
    router: respx.MockRouter,
    occ: dict[str, respx.Route],
    code: str,
    status: int,
) -> None:
    router.post(APPEASEMENTS).respond(status, json=occ_error(code, "internal", status=status))
    with pytest.raises(BackendUnavailable):
        await backend.submit(submission())


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
async def test_5xx_and_429_are_unavailable(
    backend: OccBackend, router: respx.MockRouter, occ: dict[str, respx.Route], status: int
) -> None:
    router.post(APPEASEMENTS).respond(status, headers={"Retry-After": "120"}, text="busy")
    with pytest.raises(BackendUnavailable) as err:
        await backend.submit(submission())
    assert err.value.retry_after == 120


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectTimeout("connect timed out"),
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("server disconnected"),
    ],
)
@pytest.mark.parametrize("where", ["login", "create", "status"])
async def test_network_failures_are_unavailable(
    backend: OccBackend,
    router: respx.MockRouter,
    occ: dict[str, respx.Route],
    exc: Exception,
    where: str,
) -> None:
    if where == "login":
        router.post(LOGIN).mock(side_effect=exc)
    elif where == "create":
        router.post(APPEASEMENTS).mock(side_effect=exc)
    else:
        router.get(READ).mock(side_effect=exc)
    receipt = Receipt(number=SEED_ID, reference=SEED_ID)
    call = (
        backend.status(receipt, envelope()) if where == "status" else backend.submit(submission())
    )
    with pytest.raises(BackendUnavailable):
        await call


async def test_a_login_5xx_is_unavailable(backend: OccBackend, router: respx.MockRouter) -> None:
    router.post(LOGIN).respond(503)
    with pytest.raises(BackendUnavailable):
        await backend.submit(submission())


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json={"state": "INCOMPLETE"}),  # no id
        httpx.Response(302, headers={"Location": "https://elsewhere.example.com/"}),
    ],
)
async def test_unparseable_answers_are_bad_responses(
    backend: OccBackend,
    router: respx.MockRouter,
    occ: dict[str, respx.Route],
    response: httpx.Response,
) -> None:
    router.post(APPEASEMENTS).mock(return_value=response)
    with pytest.raises(BackendBadResponse):
        await backend.submit(submission())
    assert not occ["submit"].called


# --- status ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("INCOMPLETE", StatusCode.RECEIVED),
        ("SUBMITTED", StatusCode.IN_PROGRESS),
        ("PENDING_APPROVAL", StatusCode.IN_PROGRESS),
        ("IN_PROGRESS", StatusCode.IN_PROGRESS),
        ("APPROVED", StatusCode.RESOLVED),
        ("PROCESSED", StatusCode.RESOLVED),
        ("COMPLETE", StatusCode.RESOLVED),
        ("COMPLETED", StatusCode.RESOLVED),
        ("REJECTED", StatusCode.REJECTED),
        ("DENIED", StatusCode.REJECTED),
        ("CANCELLED", StatusCode.CLOSED),
        ("CLOSED", StatusCode.CLOSED),
        ("ESCALATED_TO_MARS", StatusCode.UNKNOWN),
    ],
)
async def test_status_maps_the_state(
    backend: OccBackend,
    router: respx.MockRouter,
    login: respx.Route,
    state: str,
    code: StatusCode,
) -> None:
    read = router.get(READ).respond(200, json=appeasement(state))
    status = await backend.status(Receipt(number=SEED_ID, reference=SEED_ID), envelope())
    assert status.code is code
    assert status.text == state
    assert read.calls.last.request.headers["X-CCAsset-Language"] == "en-US"


def test_state_spelling_is_forgiven() -> None:
    assert status_code_for("pending approval") is StatusCode.IN_PROGRESS
    assert status_code_for(" Approved ") is StatusCode.RESOLVED
    assert status_code_for("") is StatusCode.UNKNOWN


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(404, json=occ_error("900002", "Appeasement not found", status=404)),
        httpx.Response(400, json=occ_error("900002", "The appeasement id is invalid")),
        httpx.Response(404, text="Not Found"),
    ],
)
async def test_status_of_an_unknown_appeasement_is_not_found(
    backend: OccBackend, router: respx.MockRouter, login: respx.Route, response: httpx.Response
) -> None:
    router.get(READ).mock(return_value=response)
    with pytest.raises(BackendRejected) as err:
        await backend.status(Receipt(number=SEED_ID, reference=SEED_ID), envelope())
    assert err.value.reason is RejectionReason.NOT_FOUND


async def test_status_without_a_state_is_a_bad_response(
    backend: OccBackend, router: respx.MockRouter, login: respx.Route
) -> None:
    router.get(READ).respond(200, json={"id": SEED_ID})
    with pytest.raises(BackendBadResponse):
        await backend.status(Receipt(number=SEED_ID, reference=SEED_ID), envelope())


async def test_status_quotes_the_reference_into_the_path(
    backend: OccBackend, router: respx.MockRouter, login: respx.Route
) -> None:
    read = router.get(f"{APPEASEMENTS}/a%2Fb").respond(200, json=appeasement("SUBMITTED", "a/b"))
    await backend.status(Receipt(number="a/b", reference="a/b"), envelope())
    assert read.called


# --- probe and settings ----------------------------------------------------------------------


async def test_probe_logs_in_afresh(
    backend: OccBackend, login: respx.Route, occ: dict[str, respx.Route]
) -> None:
    await backend.submit(submission())
    assert await backend.probe() == "OCC login ok at occ.example.com"
    assert login.call_count == 2


async def test_probe_failure_raises_the_mapped_error(
    backend: OccBackend, router: respx.MockRouter
) -> None:
    router.post(LOGIN).respond(401)
    with pytest.raises(BackendRejected) as err:
        await backend.probe()
    assert err.value.reason is RejectionReason.MISCONFIGURED


async def test_from_settings(
    client: httpx.AsyncClient, occ: dict[str, respx.Route], login: respx.Route
) -> None:
    settings = Settings(
        _env_file=None,
        complaint_backend="occ",
        occ_base_url=BASE,
        occ_username=USERNAME,
        occ_password=SecretStr(PASSWORD),
        occ_site_id=SITE,
        occ_reasons="delivery=orderArrivedLate,*=goodwill",
    )
    backend = OccBackend.from_settings(settings, client)
    assert backend.name == "occ"
    await backend.submit(submission(envelope(category="payment")))
    assert body_of(occ["create"])["reason"] == "goodwill"
    assert login.calls.last.request.headers["X-CCSite"] == SITE


# --- secrets ---------------------------------------------------------------------------------


async def test_secrets_never_reach_errors_or_logs(
    backend: OccBackend,
    router: respx.MockRouter,
    login: respx.Route,
    caplog: pytest.LogCaptureFixture,
) -> None:
    router.post(LOGIN).mock(return_value=token_response(TOKEN))
    echo = f"Bad credentials {PASSWORD} with token {TOKEN}"
    outcomes: list[BackendError] = []
    answers = [
        httpx.Response(400, json=occ_error("13001", echo, path="reason")),
        httpx.Response(400, json=occ_error("900016", echo)),
        httpx.Response(500, json=occ_error("900000", echo, status=500)),
        httpx.Response(403, json={"message": echo}),
        httpx.Response(401, json={"message": echo}),
    ]
    with caplog.at_level(logging.DEBUG):
        for answer in answers:
            router.post(APPEASEMENTS).mock(return_value=answer)
            with pytest.raises(BackendError) as err:
                await backend.submit(submission())
            outcomes.append(err.value)
        router.post(APPEASEMENTS).mock(side_effect=httpx.ConnectError(f"{BASE}?t={TOKEN}"))
        with pytest.raises(BackendError) as err:
            await backend.submit(submission())
        outcomes.append(err.value)

    for outcome in outcomes:
        text = f"{outcome} {outcome.detail} {outcome!r}"
        assert PASSWORD not in text
        assert TOKEN not in text
    assert PASSWORD not in caplog.text
    assert TOKEN not in caplog.text


async def test_the_solution_contact_and_files_go_into_the_notes(
    backend: OccBackend, router: respx.MockRouter, login: respx.Route
) -> None:
    created: list[dict[str, Any]] = []

    def create(request: httpx.Request) -> httpx.Response:
        created.append(json.loads(request.content))
        return httpx.Response(200, json=appeasement("INCOMPLETE"))

    router.post(APPEASEMENTS).mock(side_effect=create)
    router.post(SUBMIT).respond(200, json=appeasement("SUBMITTED"))
    document = Attachment(
        kind="document",
        fileId="BQACdoc-1",
        fileUniqueId="AgADdoc1",
        fileName="receipt.pdf",
        mimeType="application/pdf",
        size=81_920,
        url="https://bot.example.com/media/signed-token",
    )
    env = build_envelope(
        Customer(user_id=4242, first_name="Ada", last_name="Lovelace", username="ada"),
        order_id="o10068",
        problem=PROBLEM,
        category="product-related",
        interest_type="productComplaint",
        language_code="en-US",
        resolution="refund",
        attachments=(document,),
        contact=ContactInfo(email="ada@example.com"),
    )

    await backend.submit(submission(env))

    (body,) = created
    assert body["notes"] == (
        f"{PROBLEM}\n\n"
        "Solution wanted: refund\n"
        "Contact: ada@example.com\n"
        "Files (1):\n"
        "1. document, receipt.pdf, application/pdf, 80 KB: "
        "https://bot.example.com/media/signed-token"
    )
    assert "reference idem-1" in body["comments"][0]["comment"]  # the marker stays
