"""The README documents the CLI as it is: every command and flag in --help appears there."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from app.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_and_option_is_documented():
    group = typer.main.get_command(cli)
    for name, command in group.commands.items():
        assert f"`fazhi {name}" in README, f"README lacks `fazhi {name}`"
        for param in command.params:
            for flag in param.opts + param.secondary_opts:
                if flag.startswith("--") and flag != "--help":
                    assert flag in README, f"README lacks {flag} of `fazhi {name}`"


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    setup = README.split("## Set up")[1].split("##")[0]
    commands = re.findall(r"^(make \w+)", setup, flags=re.MULTILINE)
    assert commands == ["make run", "make test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, flags=re.MULTILINE)
