"""BSI AIS 20/31 checks: test procedures A and B on a bundle's RNG output, and the class
requirements on the online test, the total-failure test and the start-up test read from the
device's self-test and health-test logs.

The class claimed in the security target (``rng_class``) decides which requirement applies
(W. Killmann, W. Schindler, "A proposal for: Functionality classes for random number generators",
v2.0, 2011, §4: classes PTG.2, PTG.3 and NTG.1; test procedures in §5.4). The table of what
applies to which class, and the log records the checks read, are in docs/methods/ais31.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from evaltool.checks.outcome import Outcome, fmt
from evaltool.checks.registry import CheckParams, check
from evaltool.errors import EvidenceError
from evaltool.model.results import Measurement, Series

if TYPE_CHECKING:
    from evaltool.checks.context import CheckContext
    from evaltool.engines.stats.ais31 import ProcedureResult

Requirement = Literal["procedure-a", "procedure-b", "online-test", "total-failure", "startup"]

_PTG = {
    "procedure-a": "test procedure A on the internal random numbers",
    "procedure-b": "test procedure B on the raw random numbers",
    "online-test": "an online test whose alarm stops the output",
    "total-failure": "a total-failure test after which no random numbers are output",
    "startup": "a start-up test before the first output",
}
CLASS_REQUIREMENTS: Mapping[str, Mapping[Requirement, str]] = {
    "AIS31-PTG.2": {
        "procedure-a": "PTG.2.6", "procedure-b": "raw random numbers, §5.4",
        "online-test": "PTG.2.3-PTG.2.5", "total-failure": "PTG.2.1, PTG.2.2",
        "startup": "PTG.2.3",
    },
    "AIS31-PTG.3": {
        "procedure-a": "PTG.3 (as PTG.2.6)", "procedure-b": "raw random numbers, §5.4",
        "online-test": "PTG.3 (as PTG.2.3-PTG.2.5)", "total-failure": "PTG.3 (as PTG.2.1, PTG.2.2)",
        "startup": "PTG.3 (as PTG.2.3)",
    },
    "AIS31-NTG.1": {"procedure-a": "NTG.1 (internal random numbers)", "online-test": "NTG.1.1"},
}  # fmt: skip
"""Per AIS 20/31 class, the requirements these checks test and the class requirement ids they
stand for ([KS11] §4; docs/methods/ais31.md gives the reading)."""


def _not_required(rng_class: str | None, what: Requirement) -> Outcome | None:
    """A not-applicable outcome when ``rng_class`` does not require ``what``; a deterministic
    (DRG) class fails; ``None`` when the requirement applies (or no class is given)."""
    if rng_class is None:
        return None
    if rng_class.upper().startswith("AIS31-DRG"):
        return Outcome.failed(
            f"the claimed class {rng_class} is deterministic: it cannot supply the randomness an "
            "information-theoretic security proof assumes")
    reqs = CLASS_REQUIREMENTS.get(rng_class)
    if reqs is None:
        return Outcome.not_applicable(
            f"the claimed class {rng_class} is not an AIS 20/31 class (PTG.2, PTG.3, NTG.1)")
    if what not in reqs:
        return Outcome.not_applicable(f"class {rng_class} does not require {_PTG[what]}")
    return None


def _ref(rng_class: str | None, what: Requirement) -> str:
    if rng_class is None or rng_class not in CLASS_REQUIREMENTS:
        return ""
    return f" ({rng_class}: {CLASS_REQUIREMENTS[rng_class][what]})"


# -- test procedures A and B --------------------------------------------------------------


class ProcedureParams(CheckParams):
    """Parameters of ``ais31.procedure-a`` and ``ais31.procedure-b``."""

    slot: str = Field(description="rng-raw slot (binary, bits read most significant first)")
    rng_class: str | None = Field(
        None, description="the class the ST claims (e.g. AIS31-PTG.3); decides whether the "
        "procedure applies (default: it applies)")
    repeat: bool = Field(
        True, description="repeat the procedure once on the next bits after exactly one failed "
        "basic test ([KS11] §5.4); false reports one failure as a failure")


def _series(res: ProcedureResult) -> list[Series]:
    """Each single-statistic basic test of the deciding attempt against its bounds, for the
    report: the per-instance statistic with its upper bound as the limit line and, for a
    two-sided interval, the lower bound as a line of the same plot (T3's twelve run counts and
    the one-value T0 and T8 are left to the measurements)."""
    attempt = res.attempts[-1]
    out: list[Series] = []
    for t in attempt.tests:
        if t.statistic.shape[1] != 1 or t.count < 2:
            continue
        b = t.bounds[0]
        group = f"procedure {res.procedure} {t.test} {t.name}, attempt {attempt.index}"
        limit, op = ((b.upper, "<=" if b.upper_inclusive else "<") if b.upper is not None
                     else (b.lower, ">=" if b.lower_inclusive else ">"))
        x_labels = t.instances if t.count <= 16 else ()
        out.append(Series(name=f"{t.test} {t.labels[0]}", values=tuple(t.statistic[:, 0].tolist()),
                          x_name="instance" if x_labels else "sequence", x_labels=x_labels,
                          threshold=limit, passes_if=op,
                          style="bars" if x_labels else "points", group=group))
        if b.lower is not None and b.upper is not None:
            out.append(Series(name=f"lower bound {b.lower:g}", values=(b.lower,) * t.count,
                              x_labels=x_labels, style="line", group=group))
    return out


def _procedure_outcome(res: ProcedureResult, p: ProcedureParams, what: Requirement) -> Outcome:
    ms: list[Measurement] = [
        Measurement(name="bits_given", value=res.bits_given, unit="bits"),
        Measurement(name="bits_used", value=res.bits_used, unit="bits"),
        Measurement(name="repeated", value=int(res.repeated)),
    ]
    for a in res.attempts:
        for t in a.tests:
            label = f"attempt{a.index}.{t.test}"
            if t.test == "T7":
                label += f".h{dict(t.params).get('h', '')}"
            if t.test == "T6" and t.name.endswith("(pairs)"):
                label += ".pairs"
            ms.append(Measurement(name=f"{label}.failed", value=t.failures, unit="basic tests"))
            if t.statistic.shape == (1, 1) and len(t.bounds) == 1:
                b = t.bounds[0]
                if b.lower is not None and b.upper is None:
                    ms.append(Measurement(name=f"{label}.{t.labels[0]}", value=t.value,
                                          threshold=b.lower,
                                          passes_if=">=" if b.lower_inclusive else ">"))
                elif b.upper is not None and b.lower is None:
                    ms.append(Measurement(name=f"{label}.{t.labels[0]}", value=t.value,
                                          threshold=b.upper,
                                          passes_if="<=" if b.upper_inclusive else "<"))
                else:
                    ms.append(Measurement(name=f"{label}.{t.labels[0]}", value=t.value))
        ms.append(Measurement(name=f"attempt{a.index}.failed_basic_tests", value=a.failures,
                              unit="basic tests"))
    failed = [f"{t.test} {t.name} ({t.failures}/{t.count})" for a in res.attempts[-1:]
              for t in a.tests if t.failures]
    detail = f"; failed in attempt {res.attempts[-1].index}: {', '.join(failed)}" if failed else ""
    text = (f"test procedure {res.procedure}{_ref(p.rng_class, what)}: {res.reason} "
            f"({res.attempts[-1].basic_tests} basic tests per attempt, bits "
            f"0..{res.bits_used - 1} used){detail}")
    if res.outcome == "pass":
        out = Outcome.passed(text, ms)
    elif res.outcome == "fail":
        out = Outcome.failed(text, ms)
    else:
        out = Outcome.inconclusive(text, ms)
    return out.with_series(*_series(res))


def _run_procedure(p: ProcedureParams, ctx: CheckContext, what: Requirement) -> Outcome:
    from evaltool.engines.stats.ais31 import Ais31InsufficientDataError, procedure_a, procedure_b

    skip = _not_required(p.rng_class, what)
    if skip is not None:
        return skip
    bits = ctx.bits(p.slot)
    run = procedure_a if what == "procedure-a" else procedure_b
    try:
        res = run(bits, repeat=p.repeat)
    except Ais31InsufficientDataError as exc:
        return Outcome.inconclusive(
            f"slot {p.slot!r} holds {exc.given} bits; {exc.message}",
            [Measurement(name="bits_given", value=exc.given, unit="bits"),
             Measurement(name="bits_needed", value=exc.needed, unit="bits",
                         threshold=exc.given, passes_if="<=")])
    return _procedure_outcome(res, p, what)


@check("ais31.procedure-a", params=ProcedureParams,
       ref="BSI AIS 20/31 (Killmann & Schindler 2011) §5.4, test procedure A (T0-T5)")
def procedure_a(p: ProcedureParams, ctx: CheckContext) -> Outcome:
    """The RNG output passes AIS 20/31 test procedure A (T0-T5, one repetition allowed)."""
    return _run_procedure(p, ctx, "procedure-a")


@check("ais31.procedure-b", params=ProcedureParams,
       ref="BSI AIS 20/31 (Killmann & Schindler 2011) §5.4, test procedure B (T6-T8)")
def procedure_b(p: ProcedureParams, ctx: CheckContext) -> Outcome:
    """The raw RNG output passes AIS 20/31 test procedure B (T6-T8, one repetition allowed)."""
    return _run_procedure(p, ctx, "procedure-b")


# -- the device's logs ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Event:
    time_s: float
    event: str
    record: Mapping[str, Any]

    @property
    def where(self) -> str:
        idx = self.record.get("sample_index")
        return f"t = {fmt(self.time_s)} s" + (f" (sample {idx})" if isinstance(idx, int) else "")


def _events(ctx: CheckContext, slot: str) -> list[_Event]:
    """The records of a JSON-lines log with an ``event`` name, in file order; a record without
    a numeric ``time_s`` is bad evidence (docs/bundle-format.md)."""
    out: list[_Event] = []
    for i, rec in enumerate(ctx.jsonl(slot), start=1):
        event = rec.get("event")
        if not isinstance(event, str):
            continue
        t = rec.get("time_s")
        if isinstance(t, bool) or not isinstance(t, int | float):
            raise EvidenceError(f"record {i} of slot {slot!r} ({event!r}) has no numeric time_s")
        out.append(_Event(float(t), event, rec))
    return out


ONLINE_ENABLED = "health-tests-enabled"
ONLINE_ALARM = "health-test-alarm"
TOTAL_FAILURE = "total-failure"
OUTPUT_BLOCKED = "rng-output-blocked"
OUTPUT_RESUMED = "rng-output-resumed"
OUTPUT_ENABLED = "rng-output-enabled"
STARTUP_TEST = "rng-startup-test"


def _first_output(events: list[_Event]) -> _Event | None:
    starts = [e for e in events if e.event == OUTPUT_ENABLED]
    return min(starts, key=lambda e: e.time_s) if starts else None


def _blocked_after(alarm: _Event, events: list[_Event], within_s: float) -> bool:
    """A ``rng-output-blocked`` record at the alarm's sample or within ``within_s`` after it."""
    idx = alarm.record.get("sample_index")
    for e in events:
        if e.event != OUTPUT_BLOCKED:
            continue
        if isinstance(idx, int) and e.record.get("sample_index") == idx:
            return True
        if alarm.time_s <= e.time_s <= alarm.time_s + within_s:
            return True
    return False


class OnlineTestParams(CheckParams):
    """Parameters of ``ais31.online-test``."""

    health_slot: str = Field(description="health-test-log slot: the RNG's online-test records")
    self_test_slot: str | None = Field(
        None, description="self-test-log slot with the rng-output-enabled record: the online "
        "test must run from the first output on")
    rng_class: str | None = Field(None, description="the class the ST claims (e.g. AIS31-PTG.3)")
    response_s: float = Field(
        0.0, ge=0, description="longest time from an alarm to the rng-output-blocked record "
        "(0: same time or same sample)")


@check("ais31.online-test", params=OnlineTestParams,
       ref="BSI AIS 20/31 (Killmann & Schindler 2011) §4, PTG.2.3-PTG.2.5, NTG.1.1")
def online_test(p: OnlineTestParams, ctx: CheckContext) -> Outcome:
    """The RNG's online test runs from the first output on and every alarm blocks the output."""
    skip = _not_required(p.rng_class, "online-test")
    if skip is not None:
        return skip
    events = _events(ctx, p.health_slot)
    enabled = [e for e in events if e.event == ONLINE_ENABLED]
    alarms = [e for e in events if e.event == ONLINE_ALARM]
    unanswered = [a for a in alarms if not _blocked_after(a, events, p.response_s)]
    ms = [Measurement(name="online_test_alarms", value=len(alarms)),
          Measurement(name="alarms_without_reaction", value=len(unanswered), threshold=0,
                      passes_if="<=")]
    ref = _ref(p.rng_class, "online-test")
    if not enabled:
        return Outcome.failed(f"the health-test log records no online test ('{ONLINE_ENABLED}')"
                              f"{ref}", ms)
    start = min(enabled, key=lambda e: e.time_s)
    if p.self_test_slot is not None:
        first = _first_output(_events(ctx, p.self_test_slot))
        if first is not None and start.time_s > first.time_s:
            return Outcome.failed(
                f"the online test starts at t = {fmt(start.time_s)} s, after the first output "
                f"at t = {fmt(first.time_s)} s{ref}", ms)
    if unanswered:
        a = unanswered[0]
        return Outcome.failed(
            f"{len(unanswered)} of {len(alarms)} online-test alarm(s) not followed by "
            f"'{OUTPUT_BLOCKED}', the first at {a.where}{ref}", ms)
    return Outcome.passed(
        f"online test running from t = {fmt(start.time_s)} s; {len(alarms)} alarm(s), each "
        f"followed by blocking the output{ref}", ms)


class TotalFailureParams(CheckParams):
    """Parameters of ``ais31.total-failure``."""

    health_slot: str = Field(description="health-test-log slot: the RNG's test records")
    delivery_slot: str | None = Field(
        None, description="key-delivery-log slot: no key may be delivered after a total "
        "failure (beyond response_s)")
    rng_class: str | None = Field(None, description="the class the ST claims (e.g. AIS31-PTG.3)")
    response_s: float = Field(
        0.0, ge=0, description="longest time from a total failure to the blocked output "
        "(and to the last key delivered)")


def _delivery_times(ctx: CheckContext, slot: str) -> list[float]:
    """Times of the key deliveries of a key-delivery log (table or JSON lines)."""
    if ctx.file(slot).entry.format.value == "jsonl":
        return [float(r["time_s"]) for r in ctx.jsonl(slot)
                if isinstance(r.get("time_s"), int | float)]
    times: list[float] = []
    for chunk in ctx.iter_table(slot, ["time_s"]):
        times.extend(float(t) for t in chunk["time_s"].tolist())
    return times


@check("ais31.total-failure", params=TotalFailureParams,
       ref="BSI AIS 20/31 (Killmann & Schindler 2011) §4, PTG.2.1, PTG.2.2")
def total_failure(p: TotalFailureParams, ctx: CheckContext) -> Outcome:
    """The RNG has a total-failure test, and after a total failure no random numbers are output."""
    skip = _not_required(p.rng_class, "total-failure")
    if skip is not None:
        return skip
    ref = _ref(p.rng_class, "total-failure")
    events = _events(ctx, p.health_slot)
    tests = {str(t) for e in events if e.event == ONLINE_ENABLED
             for t in (e.record.get("tests") or [])}
    failures = [e for e in events if e.event == TOTAL_FAILURE]
    ms = [Measurement(name="total_failures", value=len(failures))]
    if not tests & {"total-failure", "repetition-count"}:
        return Outcome.failed(
            "the health-test log names no total-failure test ('total-failure', or the "
            f"repetition-count test of SP 800-90B §4.4.1) among the tests enabled{ref}", ms)
    if not failures:
        return Outcome.passed(f"total-failure test running ({', '.join(sorted(tests))}); no "
                              f"total failure logged{ref}", ms)
    first = min(failures, key=lambda e: e.time_s)
    problems: list[str] = []
    if not _blocked_after(first, events, p.response_s):
        problems.append(f"no '{OUTPUT_BLOCKED}' follows it")
    resumed = [e for e in events if e.event == OUTPUT_RESUMED and e.time_s > first.time_s]
    ms.append(Measurement(name="output_resumed_after_failure", value=len(resumed),
                          threshold=0, passes_if="<="))
    if resumed:
        problems.append(f"the output resumes at t = {fmt(resumed[0].time_s)} s")
    if p.delivery_slot is not None:
        late = [t for t in _delivery_times(ctx, p.delivery_slot)
                if t > first.time_s + p.response_s]
        ms.append(Measurement(name="keys_delivered_after_failure", value=len(late),
                              threshold=0, passes_if="<="))
        if late:
            problems.append(f"{len(late)} key(s) are delivered afterwards, the first at "
                            f"t = {fmt(min(late))} s")
    if problems:
        return Outcome.failed(f"total failure at {first.where} not acted on: "
                              f"{'; '.join(problems)}{ref}", ms)
    return Outcome.passed(f"total failure at {first.where}: the output is blocked and stays "
                          f"blocked{ref}", ms)


class StartupParams(CheckParams):
    """Parameters of ``ais31.startup``."""

    self_test_slot: str = Field(
        description="self-test-log slot with the rng-startup-test and rng-output-enabled records")
    rng_class: str | None = Field(None, description="the class the ST claims (e.g. AIS31-PTG.3)")


@check("ais31.startup", params=StartupParams,
       ref="BSI AIS 20/31 (Killmann & Schindler 2011) §4, PTG.2.1, PTG.2.3")
def startup(p: StartupParams, ctx: CheckContext) -> Outcome:
    """Every start of the RNG's output is preceded by a passed start-up test."""
    skip = _not_required(p.rng_class, "startup")
    if skip is not None:
        return skip
    ref = _ref(p.rng_class, "startup")
    events = _events(ctx, p.self_test_slot)
    starts = [e for e in events if e.event == OUTPUT_ENABLED]
    if not starts:
        return Outcome.inconclusive(
            f"the self-test log has no '{OUTPUT_ENABLED}' record: when the output started "
            "cannot be told", [Measurement(name="output_starts", value=0)])
    untested: list[_Event] = []
    since = float("-inf")
    for s in sorted(starts, key=lambda e: e.time_s):
        tests = [e for e in events if e.event == STARTUP_TEST and since <= e.time_s <= s.time_s]
        if not tests or str(tests[-1].record.get("result", "")).lower() != "pass":
            untested.append(s)
        since = s.time_s
    ms = [Measurement(name="output_starts", value=len(starts)),
          Measurement(name="starts_without_passed_startup_test", value=len(untested),
                      threshold=0, passes_if="<=")]
    if untested:
        return Outcome.failed(
            f"{len(untested)} of {len(starts)} output start(s) without a passed "
            f"'{STARTUP_TEST}' before them, the first at t = {fmt(untested[0].time_s)} s{ref}",
            ms)
    return Outcome.passed(f"each of {len(starts)} output start(s) follows a passed start-up "
                          f"test{ref}", ms)
