"""The deployment files as copied: the image, the compose files, the systemd unit, Caddy.

No Docker daemon or systemd runs here: what they would do is worked out from the files by
their documented rules (docker's --env-file and ENV, compose's interpolation and env_file,
systemd.exec's Environment=/EnvironmentFile= precedence, Caddy's {$VAR:default}), and the
resulting settings are read by the bot's own Settings.
"""

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
    for name in ("compose.yaml", "compose.sqlite.yaml", "Caddyfile"):
        shutil.copy(ROOT / "deploy" / name, tmp_path / "deploy" / name)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    for name in ("compose.yaml", "compose.sqlite.yaml"):
        result = subprocess.run(
            [*command, "-f", str(tmp_path / "deploy" / name), "config", "--quiet"],
            capture_output=True,
            text=True,
            env={
                "PATH": "/usr/bin:/bin:/usr/local/bin",
                "POSTGRES_PASSWORD": "x",
                "BOT_DOMAIN": "b",
            },
            check=False,
        )
        assert result.returncode == 0, result.stderr


def test_every_setting_is_documented_in_env_example_and_the_reference() -> None:
    example = (ROOT / ".env.example").read_text()
    reference = (ROOT / "docs" / "configuration.md").read_text()
    names = [name.upper() for name in Settings.model_fields]
    # Set, or shown commented out where each place keeps its own default (DATABASE_PATH).
    assert [n for n in names if f"\n{n}=" not in example and f"\n# {n}=" not in example] == []
    assert [n for n in names if f"`{n}`" not in reference] == []
