"""The project's habits agree: CI (.ci/run and the GitHub workflow), pre-commit and `make lint`;
the changelog is ready for the next release.

Each runs the same checks with the same versions; a change to one that the others miss fails
here, not on a contributor's commit or in CI.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
PRE_COMMIT = ROOT / ".pre-commit-config.yaml"
CI_RUN = ROOT / ".ci" / "run"
MAKEFILE = ROOT / "Makefile"
CHANGELOG = ROOT / "CHANGELOG.md"
SUPPORTED_PYTHONS = {"3.11", "3.12", "3.13"}
# The package each hook repository installs (its rev is that package's version, "v" aside).
HOOK_REPO_PACKAGES = {
    "https://github.com/astral-sh/ruff-pre-commit": "ruff",
    "https://github.com/pre-commit/mirrors-mypy": "mypy",
}
# What the hooks of those repositories run.
REMOTE_HOOK_COMMANDS = {
    "ruff": ["ruff", "check"],
    "ruff-check": ["ruff", "check"],
    "ruff-format": ["ruff", "format"],
    "mypy": ["mypy"],
}


def _pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def _pins() -> dict[str, str]:
    """pyproject.toml's `name==version` pins, development tools included."""
    project = _pyproject()["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    pins = {}
    for requirement in requirements:
        name, _, version = requirement.partition("==")
        pins[re.sub(r"\[.*\]", "", name).lower()] = version
    return pins


def _workflow() -> dict[str, Any]:
    workflow: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    if True in workflow:  # YAML 1.1 reads the key `on` as true
        workflow["on"] = workflow.pop(True)
    return workflow


def _steps() -> list[dict[str, Any]]:
    return [step for job in _workflow()["jobs"].values() for step in job["steps"]]


def _make_commands(script: str) -> list[str]:
    return [line.strip() for line in script.splitlines() if line.strip().startswith("make ")]


def _hooks() -> list[dict[str, Any]]:
    """Every hook, with `repo` and `rev` of its repository."""
    config = yaml.safe_load(PRE_COMMIT.read_text())
    return [
        {"repo": repo["repo"], "rev": repo.get("rev"), **hook}
        for repo in config["repos"]
        for hook in repo["hooks"]
    ]


def _hook_command(hook: dict[str, Any]) -> list[str]:
    """The command a hook runs: a local hook's entry (the executable's name), or what a known
    hook repository's hook runs."""
    if hook["repo"] == "local":
        executable, *arguments = shlex.split(hook["entry"])
        return [Path(executable).name, *arguments]
    return REMOTE_HOOK_COMMANDS[hook["id"]]


def _lint_commands() -> list[list[str]]:
    """The commands of the Makefile's `lint` recipe, the venv's bin folder left out."""
    lines = MAKEFILE.read_text().splitlines()
    start = lines.index(next(line for line in lines if line.startswith("lint:")))
    commands = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        commands.append(shlex.split(line.strip().replace("$(BIN)/", "")))
    return commands


def test_the_workflow_runs_what_ci_runs() -> None:
    in_ci = _make_commands(CI_RUN.read_text())
    assert in_ci == ["make test", "make lint"]
    in_workflow = [command for step in _steps() for command in _make_commands(step.get("run", ""))]
    assert in_workflow == in_ci


def test_the_workflow_installs_postgresql_as_ci_does() -> None:
    # The PostgreSQL tests start their own server from the binaries; without them they skip.
    assert "apt-get install" in CI_RUN.read_text()
    installs = [step["run"] for step in _steps() if "apt-get install" in step.get("run", "")]
    assert installs and all("postgresql" in script.split() for script in installs)
    first_make = next(i for i, step in enumerate(_steps()) if "make " in step.get("run", ""))
    first_install = next(i for i, step in enumerate(_steps()) if step.get("run") in installs)
    assert first_install < first_make


def test_the_workflow_covers_every_supported_python() -> None:
    (job,) = _workflow()["jobs"].values()
    versions = {str(version) for version in job["strategy"]["matrix"]["python-version"]}
    assert versions >= SUPPORTED_PYTHONS
    oldest = min(versions, key=lambda version: tuple(map(int, version.split("."))))
    assert _pyproject()["project"]["requires-python"] == f">={oldest}"
    setup = next(step for step in _steps() if step.get("uses", "").startswith("actions/setup-"))
    assert setup["with"]["python-version"] == "${{ matrix.python-version }}"
    # make's venv is built with that Python, not whichever python3 the runner has first.
    for step in _steps():
        if _make_commands(step.get("run", "")):
            assert step["env"]["PYTHON"] == f"${{{{ steps.{setup['id']}.outputs.python-path }}}}"


def test_the_workflow_runs_on_pushes_and_pull_requests() -> None:
    triggers = _workflow()["on"]
    assert "push" in triggers and "pull_request" in triggers


def test_actions_are_pinned_by_major_version() -> None:
    uses = [step["uses"] for step in _steps() if "uses" in step]
    assert "actions/checkout@v4" in uses and "actions/setup-python@v5" in uses
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", action), action


# Executables whose package has another name.
EXECUTABLE_PACKAGES = {"lint-imports": "import-linter"}


def test_pre_commit_hooks_use_the_versions_pinned_in_pyproject() -> None:
    pins = _pins()
    for hook in _hooks():
        if hook["repo"] == "local":
            # The project's own venv, which `make` installs from pyproject.toml's pins.
            executable = shlex.split(hook["entry"])[0]
            assert executable.startswith(".venv/bin/"), hook
            name = Path(executable).name
            assert EXECUTABLE_PACKAGES.get(name, name) in pins, hook
            assert hook["language"] == "system", hook
        else:
            package = HOOK_REPO_PACKAGES[hook["repo"]]
            assert hook["rev"].removeprefix("v") == pins[package], hook
    assert "VENV := .venv" in MAKEFILE.read_text()


@pytest.mark.parametrize("command", _lint_commands(), ids=lambda command: " ".join(command[:2]))
def test_every_command_of_make_lint_is_a_pre_commit_hook(command: list[str]) -> None:
    paths = [word for word in command if (ROOT / word).is_dir()]
    words = [word for word in command if word not in paths]
    covering = [
        hook for hook in _hooks() if words[: len(_hook_command(hook))] == _hook_command(hook)
    ]
    assert covering, f"no pre-commit hook runs {' '.join(command)}"
    for hook in covering:
        if paths:  # the hook gets the staged files: those of every folder `make lint` checks
            assert hook.get("pass_filenames", True), hook
            for folder in paths:
                assert re.search(hook.get("files", ""), f"{folder}/module.py"), (hook, folder)
        else:  # `make lint` checks what the tool's configuration names; so must the hook
            assert hook.get("pass_filenames") is False, hook


def test_make_lint_is_what_pre_commit_is_made_of() -> None:
    # The other way round: a hook that is no lint command would check what CI does not.
    commands = _lint_commands()
    for hook in _hooks():
        ran = _hook_command(hook)
        assert any(command[: len(ran)] == ran for command in commands), hook


def test_the_changelog_opens_with_unreleased_then_dated_releases_newest_first() -> None:
    headings = re.findall(r"^## (.+)$", CHANGELOG.read_text(), re.MULTILINE)
    assert headings[0] == "[Unreleased]"
    released = []
    for heading in headings[1:]:
        match = re.fullmatch(r"\[(\d+)\.(\d+)\.(\d+)\] - \d{4}-\d{2}-\d{2}", heading)
        assert match, f"not a release heading (## [X.Y.Z] - YYYY-MM-DD): {heading}"
        released.append(tuple(map(int, match.groups())))
    assert released == sorted(released, reverse=True)
    # A release is cut by raising pyproject's version first (CONTRIBUTING.md).
    current = tuple(map(int, _pyproject()["project"]["version"].split(".")))
    assert all(version <= current for version in released)
