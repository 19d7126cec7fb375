#!/usr/bin/env python
"""Django's command-line utility for Headroom."""

import importlib
import os
import sys

# Commands whose options are declared by plain modules (no models, no app registry), so they can
# act before Django is set up, which loads every app, its models and the Celery app (most of a
# second): their `--help` is printed at once (the same parser, so the same help), and a module
# with a `start_before_setup(argv)` starts its slow part (analyze: measuring the files) now.
BEFORE_SETUP = {
    "analyze": "analysis.management.commands.analyze",
    "check_intake": "analysis.management.commands.check_intake",
}


def before_setup(argv: list[str]) -> None:
    """Print `manage.py COMMAND --help` and exit, or start COMMAND's work, when COMMAND can do
    that without Django set up; then Django handles the command line as usual."""
    if len(argv) < 2 or argv[1] not in BEFORE_SETUP:
        return
    module = importlib.import_module(BEFORE_SETUP[argv[1]])
    if {"-h", "--help"} & set(argv[2:]):
        # Prints the help and exits 0 when asked for it; returns when "-h" was something else
        # (a file after "--").
        module.Command().create_parser(os.path.basename(argv[0]), argv[1]).parse_args(argv[2:])
    start = getattr(module, "start_before_setup", None)
    if start is not None:
        start(argv)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    before_setup(sys.argv)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
