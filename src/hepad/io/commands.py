"""`hepad` subcommands of this subpackage (registered by hepad.cli)."""


def add_commands(sub) -> None:
    """Add this subpackage's steps to the `hepad` parser's subparsers."""
