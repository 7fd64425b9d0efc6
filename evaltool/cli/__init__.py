"""The ``evaltool`` command line: the root group, global options and the single error boundary.

Every command is a thin module that parses options, calls one core function and renders its
output; the root group imports a command's module only when that command is used. Errors evaltool
raises on purpose become one line on stderr and their documented exit code; anything else is an
internal error (exit 70) with a traceback only under ``--debug`` or ``EVALTOOL_DEBUG=1``.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import suppress
from typing import NoReturn

import click

from evaltool import __version__
from evaltool.cli._lazy import LazyCommand, LazyGroup
from evaltool.errors import EvaltoolError, ExitCode, Terminated, request_stop, stop_requested

_COMMANDS = {
    "audit": LazyCommand("evaltool.cli.audit:audit", "Audit an evidence BUNDLE against a "
                         "protection profile and write the reports."),
    "campaign": LazyCommand("evaltool.cli.campaign:campaign", "Audit every bundle of the CAMPAIGN "
                            "file and write a result set per bundle and a summary."),
    "checks": LazyCommand("evaltool.cli.checks:checks",
                          "List the registered check kinds with their parameters."),
    "import": LazyCommand("evaltool.cli.importing:import_group", "Bring lab and vendor files "
                          "into an evidence bundle (docs/importing.md)."),
    "kme": LazyCommand("evaltool.cli.kme:kme", "A reference ETSI GS QKD 014 KME pair (for "
                       "testing the probe, docs/kme.md)."),
    "leakage": LazyCommand("evaltool.cli.leakage:leakage", "Test whether per-pulse features in "
                           "FILE (Parquet, CSV, or .npz/.npy traces) depend on a label."),
    "profile": LazyCommand("evaltool.cli.profile:profile", "Inspect protection profiles: "
                           "requirements, activities, checks and the crosswalk."),
    "probe": LazyCommand("evaltool.cli.probe:probe", "Live tests of a key-delivery interface "
                         "(ETSI GS QKD 014), recorded as evidence."),
    "protocol": LazyCommand("evaltool.cli.protocol:protocol", "Reference protocol computations "
                            "(every protocol plugin) for planning and checking claims."),
    "report": LazyCommand("evaltool.cli.report:report", "Re-render every output from "
                          "RESULTS.json without recomputing anything."),
    "rng": LazyCommand("evaltool.cli.rng:rng",
                       "Statistical tests of random number generator output."),
    "schema": LazyCommand("evaltool.cli.schema:schema", "Print the JSON Schema of DOCUMENT."),
    "sign": LazyCommand("evaltool.cli.sign:sign", "Sign report.pdf (PAdES, incremental) and "
                        "results.json (detached CMS) in DIR."),
    "simulate": LazyCommand("evaltool.cli.simulate:simulate", "Write the evidence bundle of "
                            "SCENARIO: a simulated decoy-state BB84 pair over 50 km of fibre, "
                            "honest or with one deviation (docs/scenarios.md)."),
    "validate": LazyCommand("evaltool.cli.validate:validate", "Validate FILES (profiles, security "
                            "targets, method libraries, evaluation inputs, bundles)."),
    "verify": LazyCommand("evaltool.cli.report:verify", "Recompute the evaluation recorded in "
                          "RESULTS.json from BUNDLE and report differences."),
}
"""Every top-level command; its module is imported only when the command is used."""


@click.group(cls=LazyGroup, lazy=_COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="evaltool")
@click.option("--debug", is_flag=True, envvar="EVALTOOL_DEBUG",
              help="Show tracebacks for internal errors.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display (for CI).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool) -> None:
    """Evaluate QKD modules against ETSI GS QKD 016 and ISO/IEC 23837."""
    ctx.ensure_object(dict)
    ctx.obj.setdefault("argv", [])
    ctx.obj["debug"] = debug
    ctx.obj["quiet"] = quiet


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"evaltool: error: {message}", err=True)
    sys.exit(code)


def _stop(signum: int, frame: object) -> None:
    request_stop(signum)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated


def _quiet_unraisable(info: sys.UnraisableHookArgs) -> None:
    """An interruption raised where Python cannot propagate it (an at-fork hook, a finaliser)
    is not printed: the run raises it again before committing anything."""
    if isinstance(info.exc_value, KeyboardInterrupt | Terminated):
        return
    sys.__unraisablehook__(info)


def main(argv: list[str] | None = None) -> NoReturn:
    """Console entry point with the error boundary.

    SIGINT and SIGTERM unwind the run like an error (staged outputs are removed, the output
    folder keeps its previous result set: docs/outputs.md) and end it with one line and exit
    130 or 143.
    """
    args = sys.argv[1:] if argv is None else argv
    with suppress(ValueError):  # not the main thread: leave the handlers alone
        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        sys.unraisablehook = _quiet_unraisable
    debug = "--debug" in args or os.environ.get("EVALTOOL_DEBUG", "") not in ("", "0")
    try:
        rv = cli.main(args=args, prog_name="evaltool", standalone_mode=False,
                      obj={"argv": list(args)})
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE if isinstance(exc, click.UsageError) else exc.exit_code)
    except click.Abort as exc:  # click turns KeyboardInterrupt into Abort
        if isinstance(exc.__context__, KeyboardInterrupt) or stop_requested():
            _fail("interrupted (SIGINT)", ExitCode.INTERRUPTED)
        _fail("aborted", ExitCode.USAGE)
    except EvaltoolError as exc:
        if debug:
            raise
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted (SIGINT)", ExitCode.INTERRUPTED)
    except Terminated:
        _fail("terminated (SIGTERM)", ExitCode.TERMINATED)
    except Exception as exc:
        if debug:
            raise
        text = str(exc).splitlines()[0] if str(exc) else ""
        _fail(f"internal error: {type(exc).__name__}: {text} (re-run with --debug for a "
              "traceback)", ExitCode.INTERNAL)
    sys.exit(rv if isinstance(rv, int) else 0)
