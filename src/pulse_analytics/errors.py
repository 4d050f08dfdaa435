"""The one error type for failures a user can act on."""

from __future__ import annotations


class PulseError(Exception):
    """A failure the user can act on: the message names the file, table, column or value, and what to do next.

    Raised where the failure happens; the command line (cli.main) prints it as `error: <message>` and exits 1.
    """
