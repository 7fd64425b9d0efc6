"""HTML rendering of an evaluation result with a sandboxed, autoescaping Jinja2 environment.

Every string in a result may come from a device or a vendor (manifest fields, log lines, reasons
quoting them) and is untrusted: autoescaping is on for every template, the environment is an
immutable sandbox, the template receives plain data (dicts, lists, strings; no objects with
methods), a missing variable is an error (StrictUndefined), and every printed string is clipped to
:data:`MAX_TEXT` characters so one huge field cannot turn into thousands of pages (the full text
stays in results.json). Only evaltool's own SVG plots enter the page as ``data:`` URIs.

The report follows the shape of the evaluation technical report of the Common Evaluation
Methodology (CEM:2022, ETR for the TOE): cover, executive summary with the failing requirements
first, verdict matrix, traceability, one section per requirement, waivers and attestations,
statistical appendix, provenance.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from evaltool.errors import ReportError
from evaltool.model.results import CheckResult, EvaluationResult, Series
from evaltool.model.verdict import Verdict, combine
from evaltool.report.filters import (
    fmt_measurement,
    fmt_number,
    short_hash,
    verdict_class,
    verdict_short,
)
from evaltool.report.plots import group_series

ASSURANCE_MODEL = (
    "A pass means that the evidence supplied in this bundle, analysed by the checks listed, "
    "showed no deviation from the requirement at the stated significance levels and thresholds. "
    "It does not show that the module is secure in other configurations, at other times or "
    "against attacks the evidence does not cover; manual activities rest on the attestations "
    "recorded. An inconclusive verdict means the evidence did not allow a decision and is never "
    "a pass."
)

MAX_TEXT = 2000
"""Longest string printed in the report; longer ones are clipped with a note."""
MAX_APPENDIX_ROWS = 300
"""Rows of the measurement table shown in the report; all rows are in the attached CSV."""
MAX_PLOTS_PER_CHECK = 6
"""Plots drawn per check; further series are listed in the appendix only."""

_ORDER = {Verdict.FAIL: 0, Verdict.INCONCLUSIVE: 1, Verdict.PASS: 2, Verdict.NOT_APPLICABLE: 3}


class PlotURI(str):
    """A ``data:`` URI of an SVG evaltool drew itself (the only long string printed whole)."""

    __slots__ = ()


def clip(value: Any) -> Any:
    """Jinja ``finalize`` hook: strings longer than :data:`MAX_TEXT` are cut with a note."""
    if isinstance(value, str) and len(value) > MAX_TEXT and not isinstance(value, PlotURI):
        return (f"{value[:MAX_TEXT]} \u2026 [{len(value) - MAX_TEXT} more characters not shown; "
                "full text in results.json]")
    return value


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=PackageLoader("evaltool.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=clip,
    )
    env.filters.update(num=fmt_number, vclass=verdict_class, vshort=verdict_short,
                       short=short_hash)
    return env


def pdf_renderer() -> str:
    """The libraries that turn this report into PDF bytes, with their versions: the same results
    give the same PDF bytes only with the same renderer (the results' provenance lists the
    libraries that computed them)."""
    import ctypes.util
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for name in ("weasyprint", "pydyf", "fonttools", "pikepdf"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} absent")
    subsetter = "HarfBuzz" if ctypes.util.find_library("harfbuzz-subset") else "fontTools"
    return ", ".join(parts) + f"; fonts subset with {subsetter}"


def pdf_date(iso: str) -> str:
    """An ISO 8601 timestamp as a W3C date (seconds, UTC ``Z``) for the PDF metadata."""
    try:
        dt = datetime.fromisoformat(iso)
    except ValueError:
        return "1980-01-01T00:00:00Z"
    if dt.utcoffset() is not None:
        dt = (dt - dt.utcoffset()).replace(tzinfo=None)  # type: ignore[operator]
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def family(kind: str) -> str:
    """Column of the verdict matrix a check kind belongs to (``telemetry.range`` -> telemetry)."""
    return kind.split(".", 1)[0] if kind else "other"


def _measurements(c: CheckResult) -> list[dict[str, Any]]:
    return [{"name": m.name, "text": fmt_measurement(m), "value": fmt_number(m.value),
             "unit": m.unit or "", "threshold": fmt_number(m.threshold)
             if m.threshold is not None else "", "passes_if": m.passes_if or ""}
            for m in c.measurements]


def _series_summary(s: Series) -> dict[str, Any]:
    finite = [v for v in s.values if v is not None]
    return {"name": s.name, "unit": s.unit or "", "n": len(s.values),
            "min": fmt_number(min(finite)) if finite else "n/a",
            "max": fmt_number(max(finite)) if finite else "n/a",
            "threshold": (f"{s.passes_if or ''} {fmt_number(s.threshold)}"
                          if s.threshold is not None else ""),
            "marks": len(s.marks)}


def _traceability(result: EvaluationResult) -> dict[str, Any] | None:
    """The traceability chain of the results, if they carry the profile's rationale.

    Two tables: threats, policies and assumptions -> objectives (with the objectives' verdicts),
    and objectives -> requirements -> activities (with the requirements' verdicts). The verdicts
    are the model's roll-ups; nothing is recomputed here.
    """
    items = tuple(getattr(result, "traceability", ()) or ())
    if not items:
        return None
    by_req = {r.requirement_id: r for r in result.requirements}
    anchors = {r.requirement_id: f"req-{i}" for i, r in enumerate(result.requirements, 1)}
    objective_verdict = {t.id: t.verdict.value for t in items if t.kind == "objective"}
    problems = []
    objectives = []
    for t in items:
        if t.kind == "objective":
            reqs = []
            for rid in t.traces_to:
                r = by_req.get(rid)
                reqs.append({"id": rid, "anchor": anchors.get(rid, ""),
                             "verdict": r.verdict.value if r else Verdict.INCONCLUSIVE.value,
                             "activities": sorted({c.activity_id for c in r.checks}) if r
                             else []})
            objectives.append({"id": t.id, "title": t.title, "scope": t.scope,
                               "provisional": t.provisional, "verdict": t.verdict.value,
                               "requirements": reqs})
        else:
            problems.append({"id": t.id, "kind": t.kind, "title": t.title,
                             "provisional": t.provisional, "verdict": t.verdict.value,
                             "objectives": [{"id": o, "verdict": objective_verdict.get(
                                 o, Verdict.INCONCLUSIVE.value)} for o in t.traces_to]})
    return {"problems": problems, "objectives": objectives}


def build_context(result: EvaluationResult, *, results_sha256: str,
                  plot: Callable[[Series | Sequence[Series]], tuple[str, str]] | None = None,
                  attachments: tuple[str, ...] = ()) -> dict[str, Any]:
    """The data the template renders (plain dicts, lists and strings only)."""
    p = result.provenance
    anchors = {r.requirement_id: f"req-{i}" for i, r in enumerate(result.requirements, 1)}
    families = sorted({family(c.kind) for c in result.checks()})
    summary = sorted(result.requirements,
                     key=lambda r: (_ORDER[r.verdict], result.requirements.index(r)))
    summary_rows = [{
        "id": r.requirement_id, "anchor": anchors[r.requirement_id], "title": r.title,
        "verdict": r.verdict.value, "provisional": r.provisional, "checks": len(r.checks),
        "waivers": sorted({c.waived_by for c in r.checks if c.waived_by}),
        "evidence": len({e.sha256 for c in r.checks for e in c.evidence}),
    } for r in summary]
    matrix = []
    for r in result.requirements:
        cells = []
        for fam in families:
            fam_checks = [c for c in r.checks if family(c.kind) == fam]
            cells.append(combine(c.verdict for c in fam_checks).value if fam_checks else "")
        matrix.append({"id": r.requirement_id, "anchor": anchors[r.requirement_id],
                       "cells": cells, "verdict": r.verdict.value,
                       "activities": sorted({c.activity_id for c in r.checks})})
    sections = []
    appendix: list[dict[str, Any]] = []
    series_rows: list[dict[str, Any]] = []
    n_measurements = 0
    for r in result.requirements:
        checks = []
        for c in r.checks:
            plots = []
            if plot is not None:
                # Consecutive series of one group share a plot (e.g. an estimate and its bound).
                for group in group_series(c.series)[:MAX_PLOTS_PER_CHECK]:
                    uri, caption = plot(group if len(group) > 1 else group[0])
                    if not uri.startswith("data:image/svg+xml;base64,"):
                        raise ReportError(f"plot of {group[0].name!r} is not an SVG data URI")
                    plots.append({"uri": PlotURI(uri), "caption": caption})
            checks.append({
                "check_id": c.check_id, "activity_id": c.activity_id, "kind": c.kind,
                "element_id": c.element_id or "", "verdict": c.verdict.value,
                "waived_by": c.waived_by or "", "reason": c.reason,
                "measurements": _measurements(c), "notes": list(c.notes),
                "evidence": [{"slot": e.slot, "path": e.path, "sha256": e.sha256,
                              "kind": e.kind} for e in c.evidence],
                "standard_ref": c.standard_ref, "plots": plots,
            })
            for m in c.measurements:
                n_measurements += 1
                if len(appendix) < MAX_APPENDIX_ROWS:
                    appendix.append({"check_id": c.check_id, "name": m.name,
                                     "value": fmt_number(m.value), "unit": m.unit or "",
                                     "rule": (f"{m.passes_if} {fmt_number(m.threshold)}"
                                              if m.threshold is not None and m.passes_if
                                              else "")})
            series_rows.extend({"check_id": c.check_id, **_series_summary(s)} for s in c.series)
        sections.append({"id": r.requirement_id, "anchor": anchors[r.requirement_id],
                         "title": r.title, "verdict": r.verdict.value,
                         "provisional": r.provisional, "checks": checks,
                         "module": getattr(r, "module", None) or ""})
    method_counts: dict[tuple[str, str], int] = {}
    for c in result.checks():
        key = (c.kind, c.standard_ref)
        method_counts[key] = method_counts.get(key, 0) + 1
    methods = [{"kind": k, "standard_ref": ref, "checks": n}
               for (k, ref), n in sorted(method_counts.items())]
    waived = [{"requirement_id": c.requirement_id, "check_id": c.check_id,
               "waived_by": c.waived_by, "notes": list(c.notes)}
              for c in result.checks() if c.waived_by]
    expired = [{"requirement_id": c.requirement_id, "check_id": c.check_id, "note": n}
               for c in result.checks() for n in c.notes if "expired" in n and "waiver" in n]
    attestations = [{"requirement_id": c.requirement_id, "activity_id": c.activity_id,
                     "verdict": c.verdict.value, "reason": c.reason, "notes": list(c.notes)}
                    for c in result.checks() if c.kind == "manual"]
    modules = []
    for module in ("transmitter", "receiver", "both"):
        reqs = [r for r in result.requirements if r.module == module]
        if reqs:
            counts = {v.value: sum(r.verdict is v for r in reqs) for v in Verdict}
            modules.append({"module": module, "requirements": [r.requirement_id for r in reqs],
                            "counts": counts})
    assignments = [{"id": a.id, "title": a.title, "unit": a.unit or "",
                    "value": (", ".join(a.value) if isinstance(a.value, tuple)
                              else "-" if a.value is None else str(a.value)),
                    "source": ("security target" if a.source == "security-target"
                               else "evaltool default")}
                   for a in getattr(result, "assignments", ())]
    pp = getattr(result, "profile", None)
    return {
        "title": result.title,
        "pp": pp.model_dump(mode="json") if pp is not None else None,
        "pre_check": bool(getattr(result, "pre_check", False)),
        "modules": modules,
        "assignments": assignments,
        "report_id": f"EVT-{results_sha256[:12].upper()}",
        "results_sha256": results_sha256,
        "date": p.finished_at,
        "pdf_date": pdf_date(p.finished_at),
        "lab": result.lab or "",
        "evaluator": result.evaluator or "",
        "toe": result.toe.model_dump(mode="json"),
        "prov": p.model_dump(mode="json"),
        "pdf_renderer": pdf_renderer(),
        "verdict": result.verdict.value,
        "counts": result.counts,
        "verdicts": [v.value for v in Verdict],
        "failing": [s for s in summary_rows if s["verdict"] == Verdict.FAIL.value],
        "summary": summary_rows,
        "families": families,
        "matrix": matrix,
        "traceability": _traceability(result),
        "sections": sections,
        "waived": waived,
        "expired": expired,
        "attestations": attestations,
        "appendix": appendix,
        "methods": methods,
        "n_measurements": n_measurements,
        "series_rows": series_rows,
        "attachments": list(attachments),
        "assurance_model": ASSURANCE_MODEL,
        "max_appendix_rows": MAX_APPENDIX_ROWS,
        "attack_appendix": _attack_appendix(result),
        "crosswalk_appendix": _crosswalk_appendix(result),
    }


def _attack_appendix(result: EvaluationResult) -> dict[str, Any] | None:
    """Appendix A: the AVA_VAN attack catalogue, each attack with the checks of this evaluation
    whose kind covers it and their combined verdict (nothing is decided here)."""
    cat = getattr(result, "attack_catalogue", None)
    if cat is None:
        return None
    by_kind: dict[str, list[CheckResult]] = {}
    for c in result.checks():
        by_kind.setdefault(c.kind, []).append(c)
    attacks = []
    for a in cat.attacks:
        ran = [c for k in a.checks for c in by_kind.get(k, ())]
        f = a.factors
        attacks.append({
            "id": a.id, "title": a.title, "target": a.target, "description": a.description,
            "literature": [f"{c.authors} {c.title}. {c.journal}"
                           + (f" {c.volume}" if c.volume else "")
                           + (f", {c.article}" if c.article else "") + f" ({c.year})"
                           for c in a.literature],
            "factors": [f.elapsed_time.value, f.expertise.value, f.knowledge.value,
                        f.window.value, f.equipment.value],
            "value": f.value, "rating": f.rating, "must_counter": f.value < 25,
            "rationale": a.factors_rationale, "sfrs": list(a.sfrs), "kinds": list(a.checks),
            "lab_test": a.lab_test or "", "checks_run": len(ran),
            "verdict": combine(c.verdict for c in ran).value if ran else "",
        })
    return {"id": cat.id, "version": cat.version, "component": cat.component,
            "required": cat.required_resistance, "provisional": cat.provisional,
            "source": cat.source,
            "equipment": [{"level": e.level, "meaning": e.meaning} for e in cat.equipment],
            "attacks": attacks}


def _crosswalk_appendix(result: EvaluationResult) -> list[dict[str, Any]]:
    """Appendix B: each crosswalk, per area of the target standard and per SFR."""
    out = []
    for cw in getattr(result, "crosswalks", ()) or ():
        areas = [{"id": a.id, "title": a.title, "clause": a.clause, "note": a.note,
                  "entries": [{"sfr": e.sfr, "topic": e.topic, "coverage": e.coverage,
                               "reuse": e.reuse} for e in cw.entries if a.id in e.areas]}
                 for a in cw.areas]
        entries = [{"sfr": e.sfr, "topic": e.topic, "areas": list(e.areas),
                    "coverage": e.coverage, "reuse": e.reuse} for e in cw.entries]
        out.append({"id": cw.id, "title": cw.title, "source": cw.source,
                    "provisional": cw.provisional, "areas": areas, "entries": entries})
    return out


_BLANK_LINES = re.compile(r"\n{3,}")


def render_html(result: EvaluationResult, *, results_sha256: str = "",
                plot: Callable[[Series | Sequence[Series]], tuple[str, str]] | None = None,
                attachments: tuple[str, ...] = ()) -> str:
    """The complete HTML report of ``result``.

    Parameters
    ----------
    result:
        The evaluation.
    results_sha256:
        SHA-256 of the canonical results.json, printed on the cover and in the provenance.
    plot:
        Renders a data series to ``(data_uri, caption)``; plots are omitted when ``None``.
    attachments:
        Names of the files embedded in the PDF, listed in the report.
    """
    template = _environment().get_template("report.html.j2")
    ctx = build_context(result, results_sha256=results_sha256, plot=plot,
                        attachments=attachments)
    return _BLANK_LINES.sub("\n\n", template.render(**ctx))
