"""The ``caspr`` command line: thin over the library (no rule lives here).

One module per command group (``snapshot``, ``assess``, ``por``, ``distribute``,
``incident``, ``calibration``, ``service``, ``demo``); importing them registers their
commands on :data:`caspr.cli.common.app`, in the order ``caspr --help`` lists them.

Exit codes: 0 ran (and, for ``validate``, clean); 1 a breach with ``--fail-on-breach``;
2 bad input or bad usage, always with a message naming file, row and column.
"""

from __future__ import annotations

import sys

# The order of these imports is the order ``caspr --help`` lists the commands.
# isort: off
from caspr.cli import snapshot  # noqa: F401 - validate, generate
from caspr.cli import assess  # noqa: F401 - assess, custody
from caspr.cli import por  # noqa: F401 - por build, proof, verify
from caspr.cli import distribute  # noqa: F401 - distribute
from caspr.cli import incident  # noqa: F401 - incident
from caspr.cli import calibration  # noqa: F401 - incidents, stress, backtest, calibrate
from caspr.cli import service  # noqa: F401 - serve, keys, audit, db
from caspr.cli import report  # noqa: F401 - report
from caspr.cli import demo  # noqa: F401 - demo

# isort: on
from caspr.cli.common import app, errors
from caspr.errors import CasprError

__all__ = ["app", "main"]


def main() -> None:
    """Entry point that turns caspr's own errors into a message and exit 2."""
    try:
        app()
    except CasprError as exc:
        errors.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
