"""`python -m bot check`: one line per check, exit 0 only when everything passes."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from bench.postgres import PostgresServer
from bot.__main__ import main
from bot.cli.check import check
from bot.config import load_settings
from bot.storage.migrations import SQLITE_MIGRATIONS
from bot.storage.postgres import PostgresDatabase
from bot.storage.sqlite import SqliteDatabase
from tests.helpers.bot_api import BOT_USERNAME, FakeBotApi
from tests.helpers.driver import BotHarness, make_settings, offline_http_client

TOKEN = "123456:TEST-TOKEN-not-a-real-one-abcdefghi"
MW = "https://middleware.example.com"
TRACK = f"{MW}/api/rest/v1/ecom/integrations/getComplaintsTrackingDetails"
OCC = "https://occ.example.com"
BIZ = "https://api.bizkithub.com"
BIZ_KEY = "PRODPGrFxpGEtrOZfuWhnoJohUYBXuOE"


async def run_check(
    tmp_path: Path,
    *,
    api: FakeBotApi | None = None,
    http_client: httpx.AsyncClient | None = None,
    **overrides: Any,
) -> tuple[int, list[str]]:
    out = io.StringIO()
    settings = make_settings(tmp_path / "data" / "bot.sqlite3", **overrides)
    code = await check(
        settings=settings,
        request=api or FakeBotApi(),
        http_client=http_client or offline_http_client(),
        out=out,
    )
    return code, out.getvalue().splitlines()


async def test_everything_fine_on_the_local_desk(tmp_path: Path) -> None:
    api = FakeBotApi()
    code, lines = await run_check(tmp_path, api=api)
    assert code == 0
    assert [line.split(":")[0] for line in lines] == [
        "ok   settings",
        "ok   telegram",
        "ok   database",
        "ok   backend",
    ]
    assert f"@{BOT_USERNAME} (id 7000001) at api.telegram.org" in lines[1]
    assert "does not exist yet; the bot creates it at its first start" in lines[2]
    assert lines[3] == "ok   backend: local: the complaint desk starts with the database"
    assert [call.method for call in api.calls] == ["getMe"]
    assert not (tmp_path / "data").exists()  # a check creates nothing


async def test_an_existing_database_is_reported_without_being_changed(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "data" / "bot.sqlite3")
    await database.open()
    await database.close()
    before = (tmp_path / "data" / "bot.sqlite3").stat().st_mtime_ns
    code, lines = await run_check(tmp_path)
    assert code == 0
    version = len(SQLITE_MIGRATIONS)
    assert lines[2].endswith(f"(0 complaints in the ledger, schema version {version})")
    assert lines[3] == "ok   backend: local: local complaint desk holds 0 complaints"
    assert (tmp_path / "data" / "bot.sqlite3").stat().st_mtime_ns == before


async def test_a_file_that_is_no_database_fails_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "bot.sqlite3").write_text("not a database " * 100)
    code, lines = await run_check(tmp_path)
    assert code == 1
    assert (
        lines[2]
        == f"FAIL database: {tmp_path}/data/bot.sqlite3: cannot be used: file is not a database"
    )


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ((404, b""), "(HTTP 404)"),
        ((200, b"<html>a web page</html>"), "(not JSON)"),
    ],
    ids=["empty-404", "html"],
)
async def test_another_server_at_the_bot_api_address_is_named_as_such(
    tmp_path: Path, answer: tuple[int, bytes], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    class OtherServer(FakeBotApi):
        async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
            return answer

    code, lines = await run_check(tmp_path, api=OtherServer())
    assert code == 1
    assert lines[1] == (
        "FAIL telegram: api.telegram.org did not answer as a Telegram Bot API server: check "
        f"TELEGRAM_API_BASE_URL {says}"
    )
    assert "Traceback" not in capsys.readouterr().err


async def test_invalid_settings_fail_with_the_setting_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPLAINT_BACKEND", "occ")
    out = io.StringIO()
    code = await check(request=FakeBotApi(), http_client=offline_http_client(), out=out)
    assert code == 1
    assert out.getvalue().splitlines() == [
        "FAIL settings: OCC_BASE_URL, OCC_USERNAME, OCC_PASSWORD: are required when "
        "COMPLAINT_BACKEND=occ"
    ]


async def test_a_token_telegram_refuses_fails_and_is_never_printed(tmp_path: Path) -> None:
    api = FakeBotApi()
    api.fail_next("getMe", "Unauthorized", code=401)
    code, lines = await run_check(tmp_path, api=api)
    assert code == 1
    assert lines[1] == (
        "FAIL telegram: api.telegram.org refused TELEGRAM_BOT_TOKEN (check it with @BotFather)"
    )
    assert lines[2].startswith("ok   database") and lines[3].startswith("ok   backend")
    assert all(TOKEN.split(":")[1] not in line for line in lines)


async def test_an_unreachable_telegram_fails(tmp_path: Path) -> None:
    api = FakeBotApi()
    api.fail_next("getMe", "Bad Gateway", code=502)
    code, lines = await run_check(tmp_path, api=api)
    assert code == 1
    assert lines[1].startswith("FAIL telegram: ")


async def test_a_missing_token_fails_without_asking_telegram(tmp_path: Path) -> None:
    api = FakeBotApi()
    code, lines = await run_check(tmp_path, api=api, telegram_bot_token=None)
    assert code == 1
    assert lines[1] == (
        "FAIL telegram: TELEGRAM_BOT_TOKEN is not set (get a token from @BotFather)"
    )
    assert api.calls == []


async def test_a_database_that_cannot_be_opened_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database folder should be")
    out = io.StringIO()
    settings = make_settings(blocker / "bot.sqlite3")
    code = await check(
        settings=settings, request=FakeBotApi(), http_client=offline_http_client(), out=out
    )
    lines = out.getvalue().splitlines()
    assert code == 1
    assert lines[2].startswith("FAIL database: ")
    assert lines[3] == "FAIL backend: local: the complaint desk needs the database"


MIDDLEWARE = {
    "complaint_backend": "middleware",
    "middleware_base_url": MW,
    "middleware_username": "bot-user",
    "middleware_password": "mw-password-secret",
}


async def test_middleware_reachable(tmp_path: Path) -> None:
    with respx.mock(assert_all_called=True) as mock:
        mock.post(TRACK).respond(404, json={"message": "no such complaint"})
        async with httpx.AsyncClient() as client:
            code, lines = await run_check(tmp_path, http_client=client, **MIDDLEWARE)
    assert code == 0
    assert (
        lines[3]
        == "ok   backend: middleware: middleware reachable at middleware.example.com (HTTP 404)"
    )


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (httpx.Response(401), "rejected our credentials (HTTP 401)"),
        (httpx.Response(503), "answered HTTP 503"),
        (httpx.ConnectError("refused"), "could not be reached (ConnectError)"),
    ],
)
async def test_middleware_refusing_or_down_fails(
    tmp_path: Path, answer: httpx.Response | Exception, reason: str
) -> None:
    with respx.mock() as mock:
        mock.post(TRACK).mock(side_effect=[answer])
        async with httpx.AsyncClient() as client:
            code, lines = await run_check(tmp_path, http_client=client, **MIDDLEWARE)
    assert code == 1
    assert lines[3].startswith("FAIL backend: middleware: ") and reason in lines[3]
    assert "mw-password-secret" not in "\n".join(lines)


OCC_SETTINGS = {
    "complaint_backend": "occ",
    "occ_base_url": OCC,
    "occ_username": "agent",
    "occ_password": "occ-password-secret",
}


async def test_occ_login(tmp_path: Path) -> None:
    with respx.mock() as mock:
        login = mock.post(f"{OCC}/ccagent/v1/login").respond(
            json={"access_token": "tok", "token_type": "bearer", "expires_in": 900}
        )
        async with httpx.AsyncClient() as client:
            code, lines = await run_check(tmp_path, http_client=client, **OCC_SETTINGS)
    assert code == 0 and login.call_count == 1
    assert lines[3] == "ok   backend: occ: OCC login ok at occ.example.com"


async def test_occ_wrong_password_fails(tmp_path: Path) -> None:
    with respx.mock() as mock:
        mock.post(f"{OCC}/ccagent/v1/login").respond(401, json={"error": "invalid_grant"})
        async with httpx.AsyncClient() as client:
            code, lines = await run_check(tmp_path, http_client=client, **OCC_SETTINGS)
    assert code == 1
    assert "refused the agent credentials" in lines[3]
    assert "occ-password-secret" not in "\n".join(lines)


async def test_bizkithub_key_accepted_and_refused(tmp_path: Path) -> None:
    detail = f"{BIZ}/api/v1/shop/complaint/detail"
    with respx.mock() as mock:
        mock.get(detail).mock(
            side_effect=[
                httpx.Response(200, json={"exist": False}),
                httpx.Response(404, json={"error": {"code": "PUBLIC_API_KEY_INVALID"}}),
            ]
        )
        async with httpx.AsyncClient() as client:
            good = await run_check(
                tmp_path,
                http_client=client,
                complaint_backend="bizkithub",
                bizkithub_api_key=BIZ_KEY,
            )
            bad = await run_check(
                tmp_path,
                http_client=client,
                complaint_backend="bizkithub",
                bizkithub_api_key=BIZ_KEY,
            )
    assert good == (0, good[1]) and good[1][3].startswith("ok   backend: bizkithub: ")
    assert bad[0] == 1 and bad[1][3].startswith("FAIL backend: bizkithub: ")
    assert "PUBLIC_API_KEY_INVALID" in bad[1][3]
    assert all(BIZ_KEY not in line for line in good[1] + bad[1])


def test_the_command_line_runs_the_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m bot check` without a token: no network needed, exit status 1."""
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "cli.sqlite3"))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        code = main(["check"])
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[0].startswith("ok   settings: COMPLAINT_BACKEND=local")
    assert lines[1].startswith("FAIL telegram: TELEGRAM_BOT_TOKEN is not set")
    assert lines[2].startswith("ok   database: ")
    assert lines[3].startswith("ok   backend: local")


async def test_a_postgresql_database_is_reported_with_its_schema(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.new_database()
    code, lines = await run_check(tmp_path, database_url=url)
    assert code == 0
    assert lines[2].startswith("ok   database: PostgreSQL 127.0.0.1:")
    assert "is empty; the bot creates its tables at its first start" in lines[2]
    database = PostgresDatabase(load_settings(database_url=url).database_url)  # type: ignore[arg-type]
    await database.open()
    await database.close()
    code, lines = await run_check(tmp_path, database_url=url)
    version = len(SQLITE_MIGRATIONS)
    assert lines[2].endswith(f"(0 complaints in the ledger, schema version {version})")
    assert "test-password" not in "\n".join(lines)


async def test_an_unreachable_postgresql_is_one_failed_line(tmp_path: Path) -> None:
    code, lines = await run_check(
        tmp_path, database_url="postgresql://bot:secret-pw@127.0.0.1:9/complaints"
    )
    assert code == 1
    assert lines[2].startswith(
        "FAIL database: PostgreSQL 127.0.0.1:9/complaints: cannot be reached"
    )
    assert "secret-pw" not in "\n".join(lines)


async def test_one_complaint_is_counted_in_the_singular(tmp_path: Path) -> None:
    harness = BotHarness(make_settings(tmp_path / "data" / "bot.sqlite3"))
    await harness.start()
    try:
        await harness.customer("Ada").file_complaint()
        await harness.settle()
    finally:
        await harness.stop()
    code, lines = await run_check(tmp_path)
    assert code == 0
    assert "(1 complaint in the ledger, schema version" in lines[2]
    assert lines[3] == "ok   backend: local: local complaint desk holds 1 complaint"
