"""The ``caspr`` command line: thin over the library (no rule lives here).

One module per command group (``snapshot``, ``assess``, ``por``, ``distribute``,
``incident``, ``calibration``, ``service``, ``demo``); importing them registers their
commands on :data:`caspr.cli.common.app`, in the order ``caspr --help`` lists them.

Exit codes (:class:`caspr.cli.common.Exit`): 0 ran (and, for ``validate``, clean); 1 a
breach with ``--fail-on-breach``, or an invalid proof; 2 bad input or bad usage, always
with a message naming file, line and column; 3 an internal error, a bug in caspr (the
traceback goes to a log file, not the screen); 130 interrupted.
"""

from __future__ import annotations

import signal
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
from caspr.cli.common import Exit, app, errors, internal_error, report_problems
from caspr.errors import CasprError, InputError, InvariantViolation

__all__ = ["app", "main"]


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM (``kill``, a CI timeout) stops like Ctrl-C, so partial output is cleaned up."""
    raise KeyboardInterrupt


def main() -> None:
    """Entry point: caspr's input errors exit 2 with their message, a bug exits 3 with a log."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        app()
    except InputError as error:
        report_problems(error)
        sys.exit(Exit.INPUT)
    except InvariantViolation as error:
        sys.exit(internal_error(error))
    except CasprError as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        sys.exit(Exit.INPUT)
    except KeyboardInterrupt:
        errors.print("[bold red]interrupted[/]", highlight=False)
        sys.exit(Exit.INTERRUPTED)
    except Exception as error:  # anything else is a bug: say so, log it, exit 3
        sys.exit(internal_error(error))


if __name__ == "__main__":
    main()
