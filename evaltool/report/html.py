"""HTML rendering of an evaluation result with a sandboxed, autoescaping Jinja2 environment.

Every string in a result may come from a device or a vendor (manifest fields, log lines, reasons
quoting them) and is untrusted: autoescaping is on for every template, the environment is
sandboxed, and a missing variable is an error (StrictUndefined), never a blank cell.
"""

from __future__ import annotations

from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from evaltool.model.results import EvaluationResult
from evaltool.model.verdict import Verdict
from evaltool.report.filters import fmt_measurement, fmt_number, short_hash, verdict_class

ASSURANCE_MODEL = (
    "A pass means that the evidence supplied in this bundle, analysed by the checks listed, "
    "showed no deviation from the requirement at the stated significance levels and thresholds. "
    "It does not show that the module is secure in other configurations, at other times or "
    "against attacks the evidence does not cover; manual activities rest on the attestations "
    "recorded. An inconclusive verdict means the evidence did not allow a decision and is never "
    "a pass."
)


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=PackageLoader("evaltool.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=fmt_number, measurement=fmt_measurement, vclass=verdict_class,
                       short=short_hash)
    return env


def render_html(result: EvaluationResult) -> str:
    """The complete HTML report of ``result``."""
    template = _environment().get_template("report.html.j2")
    failing = [r for r in result.requirements if r.verdict is Verdict.FAIL]
    return template.render(r=result, failing=failing, verdicts=list(Verdict),
                           assurance_model=ASSURANCE_MODEL)
