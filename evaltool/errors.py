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


class UsageError(EvaltoolError):
    """Options that do not make sense together."""

    exit_code = ExitCode.USAGE


class CampaignError(EvaltoolError):
    """A campaign file is malformed or names bundles that cannot be evaluated (exit 4)."""
