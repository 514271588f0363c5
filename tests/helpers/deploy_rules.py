"""The documented rules by which Docker, compose, systemd and Caddy read the deployment files.

No Docker daemon or systemd runs in the tests: these functions apply the same rules to the
files (docker's ENV and --env-file, compose's ${VAR:-default} and env_file, systemd.exec's
Environment= then EnvironmentFile=, Caddy's {$VAR:default}), so the tests can say what a
container or a service would get.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from bot.config import Settings

_COMPOSE_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
_CADDY_VARIABLE = re.compile(r"\{\$(\w+)(?::([^}]*))?\}")


@dataclass
class Image:
    """What a Dockerfile gives a container: environment, user, working folder, volumes."""

    env: dict[str, str] = field(default_factory=dict)
    user: str = "root"
    workdir: str = "/"
    volumes: list[str] = field(default_factory=list)
    owned: dict[str, str] = field(default_factory=dict)  # folder → owner, from RUN chown
    healthcheck: list[str] = field(default_factory=list)


def read_dockerfile(path: Path) -> Image:
    """The instructions that shape the running container (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    image = Image()
    for line in text.splitlines():
        words = line.strip().split(None, 1)
        if len(words) < 2 or words[0].startswith("#"):
            continue
        instruction, rest = words[0].upper(), words[1]
        if instruction == "ENV":
            image.env.update(dict(item.split("=", 1) for item in shlex.split(rest)))
        elif instruction == "USER":
            image.user = rest.strip()
        elif instruction == "WORKDIR":
            image.workdir = str(PurePosixPath(image.workdir) / rest.strip())
        elif instruction == "VOLUME":
            image.volumes += json.loads(rest) if rest.startswith("[") else rest.split()
        elif instruction == "RUN":
            for owner, folders in re.findall(r"chown (?:-R )?(\S+) ([^&;]+)", rest):
                for folder in folders.split():
                    image.owned[folder] = owner.split(":")[0]
        elif instruction == "HEALTHCHECK":
            image.healthcheck = json.loads(rest.split("CMD", 1)[1])
    return image


def env_file(path: Path) -> dict[str, str]:
    """An env file as `docker run --env-file`, compose's env_file and systemd's
    EnvironmentFile= read it: `NAME=value` lines, `#` comments, an empty value set empty."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and "=" in stripped:
            name, value = stripped.split("=", 1)
            values[name.strip()] = value
    return values


def interpolate(value: Any, variables: dict[str, str]) -> Any:
    """compose's ${VAR}, ${VAR:-default} and ${VAR:?error} in every string of a document."""
    if isinstance(value, dict):
        return {key: interpolate(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, variables) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match[1], match[2] or "", match[3] or ""
        given = variables.get(name)
        unset = given is None or (operator.startswith(":") and given == "")
        if operator.endswith("?") and unset:
            raise ValueError(f"compose: {name}: {argument}")
        if operator.endswith("-") and unset:
            return argument
        return given or ""

    return _COMPOSE_VARIABLE.sub(one, value)


def caddy_text(text: str, variables: dict[str, str]) -> str:
    """A Caddyfile with {$VAR} and {$VAR:default} replaced, as Caddy does before parsing."""
    return _CADDY_VARIABLE.sub(lambda m: variables.get(m[1]) or (m[2] or ""), text)


def unit_entries(path: Path) -> list[tuple[str, str, str]]:
    """A systemd unit's (section, key, value) entries in order, repeated keys kept."""
    entries, section = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped.startswith("["):
            section = stripped.strip("[]")
        elif "=" in stripped:
            key, value = stripped.split("=", 1)
            entries.append((section, key.strip(), value.strip()))
    return entries


def service_environment(
    entries: list[tuple[str, str, str]], files: dict[str, Path]
) -> dict[str, str]:
    """The service's environment by systemd.exec(5): Environment= assignments in order (a later
    one wins), then the EnvironmentFile= files, whose settings override Environment=."""
    env: dict[str, str] = {}
    for section, key, value in entries:
        if section == "Service" and key == "Environment":
            for assignment in shlex.split(value):
                name, _, assigned = assignment.partition("=")
                env[name] = assigned
    for section, key, value in entries:
        if section == "Service" and key == "EnvironmentFile":
            env.update(env_file(files[value.lstrip("-")]))
    return env


def settings_of(env: dict[str, str]) -> Settings:
    """The bot's Settings in a process with exactly this environment (no .env file)."""
    # The environment's empty values count as unset (Settings' env_ignore_empty).
    values = {
        name.lower(): value
        for name, value in env.items()
        if name.lower() in Settings.model_fields and value != ""
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def resolved(path: Path, workdir: str) -> PurePosixPath:
    """Where a (maybe relative) path lands for a process in `workdir`."""
    return PurePosixPath(workdir) / PurePosixPath(path)


def under(path: PurePosixPath, folder: str) -> bool:
    """Whether `path` is inside `folder`."""
    return PurePosixPath(folder) in path.parents
