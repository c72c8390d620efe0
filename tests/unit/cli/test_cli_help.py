"""Every subcommand and every option of ``tuneforge`` says what it is for: the parser is walked, so a command
added later is held to the same rule without this test knowing its name."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from pathlib import Path

from cli.main import build_parser, main

ROOT = Path(__file__).resolve().parents[3]


def _subcommands(parser: argparse.ArgumentParser) -> tuple[argparse._SubParsersAction, list[str]]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1, "tuneforge has one level of subcommands"
    return actions[0], list(actions[0].choices)


def _missing_help(parser: argparse.ArgumentParser, prog: str = "tuneforge") -> list[str]:
    """Every option, positional and subcommand (at any depth) of ``parser`` that has no help text."""
    gaps = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if not action.help or action.help == argparse.SUPPRESS:
            gaps.append(f"{prog} {'/'.join(action.option_strings) or action.dest}: no help text")
        if isinstance(action, argparse._SubParsersAction):
            described = {choice.dest: choice.help for choice in action._choices_actions}
            for name, subparser in action.choices.items():
                if not described.get(name):
                    gaps.append(f"{prog} {name}: the subcommand has no help")
                gaps += _missing_help(subparser, f"{prog} {name}")
    return gaps


def test_every_subcommand_and_option_has_help():
    gaps = _missing_help(build_parser())
    assert gaps == [], "options and subcommands without help:\n  " + "\n  ".join(gaps)


def test_the_walker_sees_a_gap():
    parser = build_parser()
    subparsers, names = _subcommands(parser)
    assert {"validate", "estimate", "models", "init"} <= set(names)
    subparsers.choices["models"].add_argument("--undocumented")
    gaps = _missing_help(parser)
    assert [gap for gap in gaps if gap.startswith("tuneforge models")] == [
        "tuneforge models --undocumented: no help text"
    ]


def test_options_with_units_name_them():
    helps = {
        f"{name} {'/'.join(a.option_strings)}": a.help or ""
        for name, sub in _subcommands(build_parser())[0].choices.items()
        for a in sub._actions
    }
    assert "USD" in helps["estimate --budget"]
    assert "USD" in helps["estimate --monthly-cap"]
    assert "tokens" in helps["estimate --tokens"]


def test_version_is_the_package_version(capsys):
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    try:
        main(["--version"])
    except SystemExit as done:
        assert done.code == 0
    assert capsys.readouterr().out.strip() == f"tuneforge {expected}"


def test_version_from_a_fresh_process():
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "--version"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("tuneforge ") and done.stdout.split()[1][0].isdigit()
