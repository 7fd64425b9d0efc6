"""Run ``evaltool`` and SIGKILL it just before its N-th file-system operation (a test aid).

Usage: ``python kill_driver.py LOG N evaltool-args...``. Every call of ``os.replace``,
``os.rename``, ``os.unlink``, ``os.rmdir``, ``os.mkdir``, ``os.fsync`` and ``os.write`` is
counted and appended to LOG (``op paths``, one a line) before it runs; with N > 0 the process
kills itself with SIGKILL instead of running the N-th one: no handler, no ``finally`` runs,
exactly as a power cut or the OOM killer would stop it. N = 0 only records. ``KILL_SIGNAL=2``
in the environment sends SIGINT instead (15: SIGTERM); the operation then runs if the handler
returns.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any


def main() -> None:
    log_path, target = sys.argv[1], int(sys.argv[2])
    sig = int(os.environ.get("KILL_SIGNAL", signal.SIGKILL))
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - open for the whole run
    count = [0]

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            count[0] += 1
            where = " ".join(str(a) for a in args if isinstance(a, str | os.PathLike))
            if target and count[0] == target:
                log.write(f"KILL {name} {where}\n")
                os.kill(os.getpid(), sig)
            log.write(f"{name} {where}\n")
            return fn(*args, **kwargs)
        return counted

    for name in ("replace", "rename", "unlink", "rmdir", "mkdir", "fsync", "write"):
        setattr(os, name, wrap(name, getattr(os, name)))
    from evaltool.cli import main as evaltool_main

    evaltool_main(sys.argv[3:])


if __name__ == "__main__":
    main()
