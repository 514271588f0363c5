"""The deployment files work as copied: with `.env` a copy of `.env.example`, the database of
the image, of each compose file and of the systemd unit lands where its user may write, and
Caddy routes the path the bots listen on.

No Docker daemon or systemd runs here: tests/helpers/deploy_rules.py applies their documented
rules to the files, and the bot's own Settings read the result.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.__main__ import EXIT_CONFIG
from bot.storage.sqlite import SqliteDatabase
from bot.web.webhook import WebhookConfig
from tests.helpers.deploy_rules import (
    caddy_text,
    env_file,
    interpolate,
    read_dockerfile,
    resolved,
    service_environment,
    settings_of,
    under,
    unit_entries,
)

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = ROOT / ".env.example"
UNIT = DEPLOY / "order-complaints-bot.service"
SECRET = "s" * 40


def test_the_image_run_with_env_example_keeps_the_database_in_its_volume() -> None:
    """`docker run --env-file .env -v complaints-data:/data order-complaints-bot`."""
    image = read_dockerfile(ROOT / "Dockerfile")
    assert image.user == "bot" and image.volumes == ["/data"]
    assert image.owned["/data"] == image.user  # the volume is the bot user's
    settings = settings_of({**image.env, **env_file(ENV_EXAMPLE)})  # --env-file wins over ENV
    database = resolved(settings.database_path, image.workdir)
    assert database == resolved(Path("/data/complaints.sqlite3"), "/")
    # Any relative path an .env may still give lands in the volume too.
    assert under(resolved(Path("data/complaints.sqlite3"), image.workdir), "/data")


def test_the_single_instance_compose_file_runs_on_sqlite_in_the_volume() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.sqlite.yaml").read_text())
    (name,) = compose["services"]
    bot = compose["services"][name]
    assert bot["build"] == ".." and bot["env_file"] == "../.env"
    assert "complaints-data:/data" in bot["volumes"] and "complaints-data" in compose["volumes"]
    image = read_dockerfile(ROOT / "Dockerfile")
    env = {**image.env, **env_file(ENV_EXAMPLE), **(bot.get("environment") or {})}
    settings = settings_of(env)
    assert settings.database_url is None and settings.bot_mode == "polling"
    assert resolved(settings.database_path, image.workdir) == resolved(
        Path("/data/complaints.sqlite3"), "/"
    )
    assert "ports" not in bot  # polling needs no public port


async def test_env_example_outside_a_container_keeps_the_database_in_the_clone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cp .env.example .env && make run`: the database is data/ of the clone, created there."""
    monkeypatch.chdir(tmp_path)
    settings = settings_of(env_file(ENV_EXAMPLE))
    assert settings.database_path == Path("data/complaints.sqlite3")
    database = SqliteDatabase(settings.database_path)
    await database.open()
    await database.close()
    assert (tmp_path / "data" / "complaints.sqlite3").is_file()


def test_the_systemd_unit_says_truly_which_setting_wins() -> None:
    """systemd.exec(5): "Settings from these files override settings made with Environment=".
    The unit's DATABASE_PATH is a default, and its comment says so."""
    text = UNIT.read_text()
    assert "whatever the env file says" not in text
    assert "settings from EnvironmentFile= override those of Environment=" in text
    entries = unit_entries(UNIT)
    service = {key: value for section, key, value in entries if section == "Service"}
    state = f"/var/lib/{service['StateDirectory']}"
    assert service["WorkingDirectory"] == state and service["User"] == "complaints-bot"
    assert service["RestartPreventExitStatus"] == str(EXIT_CONFIG)
    env_path = service["EnvironmentFile"]

    with_example = service_environment(entries, {env_path: ENV_EXAMPLE})
    database = resolved(settings_of(with_example).database_path, service["WorkingDirectory"])
    assert under(database, state)


def test_the_systemd_unit_with_a_database_path_in_the_env_file(tmp_path: Path) -> None:
    """An env file that sets DATABASE_PATH wins over the unit's Environment= line; a relative
    one still lands in the state directory."""
    entries = unit_entries(UNIT)
    service = {key: value for section, key, value in entries if section == "Service"}
    env = tmp_path / "env"
    env.write_text(ENV_EXAMPLE.read_text() + "\nDATABASE_PATH=data/shop.sqlite3\n")
    chosen = service_environment(entries, {service["EnvironmentFile"]: env})
    database = resolved(settings_of(chosen).database_path, service["WorkingDirectory"])
    assert database == resolved(Path("data/shop.sqlite3"), service["WorkingDirectory"])
    assert under(database, f"/var/lib/{service['StateDirectory']}")


@pytest.mark.parametrize("webhook_path", [None, "/hooks/tg-7f3a"], ids=["default", "own-path"])
def test_caddy_routes_the_path_the_bots_listen_on(webhook_path: str | None) -> None:
    variables = {"BOT_DOMAIN": "bot.example.com", "POSTGRES_PASSWORD": "pw"}
    if webhook_path is not None:
        variables["WEBHOOK_PATH"] = webhook_path
    compose = interpolate(yaml.safe_load((DEPLOY / "compose.yaml").read_text()), variables)
    proxy_env = compose["services"]["proxy"]["environment"]
    caddy = caddy_text((DEPLOY / "Caddyfile").read_text(), proxy_env)
    routed = [line.split()[1] for line in caddy.splitlines() if "reverse_proxy" in line]
    for name in ("bot-1", "bot-2"):
        env = {
            **env_file(ENV_EXAMPLE),
            "WEBHOOK_SECRET": SECRET,
            **compose["services"][name]["environment"],
        }
        settings = settings_of(env)
        listens_on = WebhookConfig.from_settings(settings).path
        assert routed == [listens_on, "/media/*"]  # nothing else: /metrics stays private
    assert routed[0] == (webhook_path or "/telegram/updates")


def _healthcheck(env: dict[str, str]) -> int:
    image = read_dockerfile(ROOT / "Dockerfile")
    assert image.healthcheck[0] == "python"
    command = [sys.executable, *image.healthcheck[1:]]
    base = {"PATH": "/usr/bin:/bin"}
    return subprocess.run(command, env={**base, **env}, capture_output=True, check=False).returncode


async def test_the_image_healthcheck_asks_healthz_where_there_is_a_server(tmp_path: Path) -> None:
    async def healthz(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(healthz, "127.0.0.1", 0)
    port = str(server.sockets[0].getsockname()[1])
    try:
        assert await asyncio.to_thread(_healthcheck, {"BOT_MODE": "polling"}) == 0
        for served in ({"BOT_MODE": "webhook"}, {"MEDIA_BASE_URL": "https://bot.example.com"}):
            assert await asyncio.to_thread(_healthcheck, {**served, "WEBHOOK_PORT": port}) == 0
    finally:
        server.close()
        await server.wait_closed()
    # Nothing answers any more: unhealthy, in each mode that has a server.
    for served in ({"BOT_MODE": "webhook"}, {"MEDIA_BASE_URL": "https://bot.example.com"}):
        assert await asyncio.to_thread(_healthcheck, {**served, "WEBHOOK_PORT": port}) != 0
