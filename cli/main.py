"""``tuneforge``: the operator CLI.

Each command lives in its own module under ``cli/`` and exposes ``register(subparsers)``, which adds
its subparser and sets ``handler`` (a function of the parsed args returning the exit code). Commands are
discovered, so adding one never touches this file: drop ``cli/<name>.py`` with a ``register``.

Exit codes shared by every command: 0 success, 1 the answer is "no" (invalid data, over budget, ...),
2 usage error (argparse's own code; also raised as ``UsageError`` by commands).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import pkgutil
import sys
import tomllib
from pathlib import Path
from typing import Sequence

import cli
from cli._common import EXIT_USAGE, UsageError


def _command_modules() -> list[str]:
    return sorted(
        f"cli.{m.name}" for m in pkgutil.iter_modules(cli.__path__) if not m.name.startswith("_") and m.name != "main"
    )


def version() -> str:
    """The installed package's version; from a source checkout that was never installed, pyproject.toml's."""
    try:
        return importlib.metadata.version("tuneforge")
    except importlib.metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuneforge",
        description="Validate datasets, estimate costs and operate the Bedrock customization pipeline.",
    )
    parser.add_argument(
        "--version", action="version", version=f"tuneforge {version()}", help="print the version and exit"
    )
    subparsers = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="what to do (`tuneforge COMMAND --help` for its options)"
    )
    for name in _command_modules():
        module = importlib.import_module(name)
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except UsageError as error:
        print(f"tuneforge {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
