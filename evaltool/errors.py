"""The evaltool exception tree and the process exit codes (the lowest layer: imports nothing).

Every error a user can cause is an :class:`EvaltoolError` whose ``str()`` is one complete sentence
naming the file, the location and the problem. The CLI maps each class to its ``exit_code``.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Documented process exit codes (README, "Exit codes")."""

    PASS = 0
    """Evaluation complete, every requirement passed (or was not applicable)."""
    FAIL = 1
    """Evaluation complete, at least one requirement failed."""
    USAGE = 2
    """Command-line usage error."""
    INCONCLUSIVE = 3
    """Evaluation complete, no failure, at least one inconclusive result."""
    BAD_INPUT = 4
    """Invalid input (profile, security target, bundle, evidence file)."""
    REPORT = 5
    """The report could not be produced."""
    INTERNAL = 70
    """Internal error (a bug in evaltool)."""
    BUSY = 75
    """The output folder is in use by another evaltool run (``EX_TEMPFAIL`` of sysexits.h)."""
    INTERRUPTED = 130
    """Stopped by SIGINT (128 + 2, the shell's convention); the output folder is unchanged."""
    TERMINATED = 143
    """Stopped by SIGTERM (128 + 15); the output folder is unchanged."""


class EvaltoolError(Exception):
    """Base of every error evaltool raises on purpose.

    Parameters
    ----------
    message:
        The problem, as a sentence fragment ("column 'time_ps' is not monotonic").
    path:
        The file concerned, if any.
    location:
        Where in the file: "line 12, column 3", "row 1041", "manifest.evidence[2].path".
    """

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(
        self, message: str, *, path: str | Path | None = None, location: str | None = None
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.location = location
        self.param_loc: tuple[int | str, ...] = ()
        super().__init__(self.__str__())

    def __str__(self) -> str:
        prefix = ""
        if self.path is not None:
            prefix = self.path
            if self.location:
                prefix += f":{self.location}"
            prefix += ": "
        elif self.location:
            prefix = f"{self.location}: "
        # One line, always: a hostile string must not forge extra lines in a log.
        text = f"{prefix}{self.message}"
        return text.replace("\r", "\\r").replace("\n", "\\n")


class ProfileError(EvaltoolError):
    """A protection profile, security target or evaluation input is malformed or inconsistent."""


class EvidenceError(EvaltoolError):
    """An evidence bundle or one of its files is missing, unreadable or malformed."""


class InsufficientDataError(EvidenceError):
    """Too little data for a statistic's preconditions: the check becomes inconclusive."""


class ReportError(EvaltoolError):
    """A report could not be rendered or written."""

    exit_code = ExitCode.REPORT


class ImportMappingError(EvaltoolError):
    """A mapping of ``evaltool import`` is malformed or does not fit the data or the bundle."""


class PluginError(EvaltoolError):
    """A third-party check failed to load or register."""


class RecordedInputError(EvaltoolError):
    """An input recorded in a results file is not given, or one given was not recorded."""


class Terminated(BaseException):
    """SIGTERM arrived (raised by the CLI's handler; a BaseException like KeyboardInterrupt, so
    that no ``except Exception`` swallows it on its way to the error boundary)."""


_stop_requested: list[int] = []


def request_stop(signum: int) -> None:
    """Note that SIGINT or SIGTERM arrived (the CLI's handlers call this before raising)."""
    _stop_requested.append(signum)


def stop_requested() -> bool:
    """Whether SIGINT or SIGTERM arrived during this run."""
    return bool(_stop_requested)


def raise_if_stop_requested() -> None:
    """Raise the interruption again if a signal arrived whose exception was swallowed.

    CPython ignores an exception a signal handler raises inside a callback (an at-fork hook,
    a finaliser), so a run could otherwise go on and commit its outputs after SIGINT; the result
    set's commit calls this just before its commit point (``docs/outputs.md``).
    """
    if _stop_requested:
        if _stop_requested[0] == 2:  # SIGINT
            raise KeyboardInterrupt
        raise Terminated


class UsageError(EvaltoolError):
    """Options that do not make sense together."""

    exit_code = ExitCode.USAGE


class CampaignError(EvaltoolError):
    """A campaign file is malformed or names bundles that cannot be evaluated (exit 4)."""
