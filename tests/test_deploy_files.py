"""The deployment files: the compose file of two instances on PostgreSQL behind Caddy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "deploy" / "compose.yaml"


def test_two_bot_instances_on_postgresql_behind_a_proxy() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "bot-1", "bot-2", "proxy"}
    for name in ("bot-1", "bot-2"):
        bot = services[name]
        assert bot["environment"]["BOT_MODE"] == "webhook"
        assert bot["environment"]["DATABASE_URL"].startswith("postgresql://complaints:")
        assert "healthz" in " ".join(bot["healthcheck"]["test"])
        assert bot["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert services["migrate"]["command"] == ["python", "-m", "bot", "migrate"]
    assert services["postgres"]["healthcheck"]["test"][0] == "CMD-SHELL"
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    caddy = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "bot-1:8443 bot-2:8443" in caddy and "health_uri /healthz" in caddy
    assert "reverse_proxy /media/* bot-1:8443 bot-2:8443" in caddy  # signed media links
    routed = [line.split()[1] for line in caddy.splitlines() if "reverse_proxy" in line]
    assert routed == ["/telegram/updates", "/media/*"]  # nothing else, /metrics included


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_docker_compose_validates_the_file(tmp_path: Path) -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("docker compose is not installed")
    (tmp_path / "deploy").mkdir()
    shutil.copy(COMPOSE, tmp_path / "deploy" / "compose.yaml")
    shutil.copy(ROOT / "deploy" / "Caddyfile", tmp_path / "deploy" / "Caddyfile")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    result = subprocess.run(
        [*command, "-f", str(tmp_path / "deploy" / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "POSTGRES_PASSWORD": "x", "BOT_DOMAIN": "b"},
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_setting_is_documented_in_env_example_and_the_reference() -> None:
    example = (ROOT / ".env.example").read_text()
    reference = (ROOT / "docs" / "configuration.md").read_text()
    names = [name.upper() for name in Settings.model_fields]
    assert [n for n in names if f"\n{n}=" not in example] == []
    assert [n for n in names if f"`{n}`" not in reference] == []
