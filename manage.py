#!/usr/bin/env python
"""Django's command-line utility for Headroom."""

import importlib
import os
import sys

# Commands whose options are declared by plain modules (no models, no app registry): their
# `--help` is answered without setting Django up, which loads every app, its models and the
# Celery app (most of a second) for a page of text. The same parser, so the same help.
HELP_WITHOUT_SETUP = {
    "analyze": "analysis.management.commands.analyze",
    "check_intake": "analysis.management.commands.check_intake",
}


def help_without_setup(argv: list[str]) -> None:
    """Print `manage.py COMMAND --help` and exit, when COMMAND can say it without Django set up;
    otherwise return and let Django handle the command line."""
    if len(argv) < 3 or argv[1] not in HELP_WITHOUT_SETUP:
        return
    if not {"-h", "--help"} & set(argv[2:]):
        return
    command = importlib.import_module(HELP_WITHOUT_SETUP[argv[1]]).Command()
    # Prints the help and exits 0 when asked for it; returns when "-h" was something else
    # (a file after "--"), and then Django parses the same command line as usual.
    command.create_parser(os.path.basename(argv[0]), argv[1]).parse_args(argv[2:])


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    help_without_setup(sys.argv)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
