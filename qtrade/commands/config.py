"""``qtrade config validate FILE``: check a user config; exit 1 listing every field error
with its line and column (``FILE:LINE:COLUMN: field: message [code]``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine.config import ConfigError, load_user_config
from engine.service.jsonpos import with_positions

__all__ = ["register", "run_validate"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("config", help="user configuration tools")
    actions = parser.add_subparsers(dest="config_command", metavar="ACTION")
    validate = actions.add_parser("validate", help="validate a user config file")
    validate.add_argument("file")
    validate.set_defaults(handler=run_validate)
    parser.set_defaults(handler=lambda _args: _help(parser))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_validate(args: argparse.Namespace) -> int:
    try:
        config = load_user_config(args.file)
    except ConfigError as exc:
        try:
            text = Path(args.file).read_bytes()
        except OSError:
            text = b""
        for error in with_positions(text, exc.errors):
            line = "" if error.line is None else str(error.line)
            column = "" if error.column is None else str(error.column)
            print(
                f"{args.file}:{line}:{column}: {error.field}: {error.message} [{error.code}]",
                file=sys.stderr,
            )
        return 1
    summary = {
        "valid": True,
        "file": args.file,
        "username": config.username,
        "id": config.id,
        "levels": len(config.dca_grid_config.levels),
        "max_pyramids": config.dca_grid_config.max_pyramids,
    }
    print(json.dumps(summary))
    return 0
