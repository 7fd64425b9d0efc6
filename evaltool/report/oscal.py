"""OSCAL assessment-results (JSON) of an evaluation, for GRC tools.

Mapping (NIST OSCAL 1.0.6 assessment-results model; FedRAMP's guidance for automated tools):

- one *observation* per check: ``methods: [TEST]`` (``EXAMINE`` for manual activities, which rest
  on an evaluator's review), type ``finding``, origin actor of type ``tool`` (evaltool as an
  assessment platform), relevant evidence pointing at back-matter resources;
- one *finding* per requirement: target ``objective-id`` = the requirement id, status
  ``satisfied`` / reason ``pass`` for a pass, ``not-satisfied`` / ``fail`` for a fail and
  ``not-satisfied`` / ``other`` for inconclusive; not-applicable requirements have no finding and
  are named in the result's remarks;
- back-matter: one resource per input file, with its SHA-256.

Every UUID is a version-5 UUID of a stable name (the evaluation's identity plus the object's id), so
re-rendering the same results gives the same document. Schema: OSCAL 1.0.6 (shipped in
``evaltool/report/schemas``).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from evaltool.model.results import CheckResult, EvaluationResult, RequirementResult
from evaltool.model.verdict import Verdict

OSCAL_VERSION = "1.0.6"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://evaltool.invalid/oscal")
"""Root of evaltool's name-based UUIDs (RFC 4122 §4.3)."""

_TOKEN_BAD = re.compile(r"[^\w.\-]")


def token(text: str) -> str:
    """``text`` as an OSCAL token (XML NCName): other characters become ``_``."""
    out = _TOKEN_BAD.sub("_", text)
    if not out or not (out[0].isalpha() or out[0] == "_"):
        out = "_" + out
    return out


def _evaluation_key(result: EvaluationResult) -> str:
    p = result.provenance
    inputs = ",".join(sorted(f"{f.role}={f.sha256}" for f in p.inputs))
    return f"{p.profile_id}|{p.profile_version}|{p.seed}|{p.finished_at}|{inputs}"


def _status(verdict: Verdict) -> dict[str, str]:
    if verdict is Verdict.PASS:
        return {"state": "satisfied", "reason": "pass"}
    if verdict is Verdict.FAIL:
        return {"state": "not-satisfied", "reason": "fail"}
    return {"state": "not-satisfied", "reason": "other"}


def _prop(name: str, value: str) -> dict[str, str]:
    return {"name": name, "ns": "https://evaltool.invalid/ns/oscal", "value": value or "-"}


def render_oscal(result: EvaluationResult) -> bytes:
    """The OSCAL assessment-results document of ``result`` (canonical JSON bytes)."""
    key = _evaluation_key(result)

    def uid(kind: str, name: str = "") -> str:
        return str(uuid.uuid5(NAMESPACE, f"{key}|{kind}|{name}"))

    p = result.provenance
    platform_uuid = uid("platform")
    resources: list[dict[str, Any]] = []
    resource_by_sha: dict[tuple[str, str], str] = {}
    for f in p.inputs:
        ruid = uid("resource", f"{f.role}|{f.path}|{f.sha256}")
        resource_by_sha[(f.path, f.sha256)] = ruid
        resources.append({
            "uuid": ruid,
            "title": f.path,
            "description": f"{f.role} ({f.size_bytes} bytes)",
            "props": [_prop("role", f.role)],
            "rlinks": [{"href": f.path, "hashes": [{"algorithm": "SHA-256", "value": f.sha256}]}],
        })

    def evidence_links(c: CheckResult) -> list[dict[str, Any]]:
        links = []
        for e in c.evidence:
            ruid = resource_by_sha.get((e.path, e.sha256))
            href = f"#{ruid}" if ruid else e.path
            links.append({"href": href,
                          "description": f"evidence slot {e.slot} ({e.kind}), SHA-256 {e.sha256}"})
        return links

    observations: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    not_applicable: list[str] = []
    for req in result.requirements:
        obs_uuids = []
        for c in req.checks:
            ouid = uid("observation", c.check_id)
            obs_uuids.append(ouid)
            props = [_prop("check-id", c.check_id), _prop("check-kind", c.kind),
                     _prop("verdict", c.verdict.value), _prop("standard-ref", c.standard_ref)]
            if c.waived_by:
                props.append(_prop("waived-by", c.waived_by))
            props.extend(_prop(f"measurement.{token(m.name)}", _measurement_text(m))
                         for m in c.measurements)
            obs: dict[str, Any] = {
                "uuid": ouid,
                "title": f"{c.check_id} ({c.kind})",
                "description": c.reason,
                "props": props,
                "methods": ["EXAMINE" if c.kind == "manual" else "TEST"],
                "types": ["finding"],
                "origins": [{"actors": [{"type": "assessment-platform",
                                         "actor-uuid": platform_uuid}]}],
                "collected": p.finished_at,
            }
            links = evidence_links(c)
            if links:
                obs["relevant-evidence"] = links
            if c.notes:
                obs["remarks"] = "\n".join(c.notes)
            observations.append(obs)
        if req.verdict is Verdict.NOT_APPLICABLE:
            not_applicable.append(req.requirement_id)
            continue
        findings.append(_finding(req, uid("finding", req.requirement_id), obs_uuids))

    res: dict[str, Any] = {
        "uuid": uid("result"),
        "title": result.title,
        "description": (f"Automated evaluation by {p.tool} {p.tool_version} against profile "
                        f"{p.profile_id} {p.profile_version}; overall verdict "
                        f"{result.verdict.value}."),
        "start": p.started_at,
        "end": p.finished_at,
        "props": [_prop("overall-verdict", result.verdict.value), _prop("seed", str(p.seed))],
        "local-definitions": {"assessment-assets": {"assessment-platforms": [{
            "uuid": platform_uuid, "title": f"{p.tool} {p.tool_version}",
            "props": [_prop(f"dependency.{token(k)}", v)
                      for k, v in sorted(p.dependencies.items())] or None,
        }]}},
        "reviewed-controls": {"control-selections": [{"include-controls": [
            {"control-id": token(r.requirement_id)} for r in result.requirements]}]},
    }
    platform = res["local-definitions"]["assessment-assets"]["assessment-platforms"][0]
    if platform["props"] is None:
        del platform["props"]
    if observations:
        res["observations"] = observations
    if findings:
        res["findings"] = findings
    if not_applicable:
        res["remarks"] = "Not applicable: " + ", ".join(not_applicable)

    metadata: dict[str, Any] = {
        "title": result.title,
        "last-modified": p.finished_at,
        "version": p.tool_version,
        "oscal-version": OSCAL_VERSION,
        "props": [_prop("profile-id", p.profile_id), _prop("profile-version", p.profile_version),
                  _prop("toe-vendor", result.toe.vendor), _prop("toe-product", result.toe.product)],
    }
    parties = []
    if result.lab:
        parties.append({"uuid": uid("party", "lab"), "type": "organization", "name": result.lab})
    if result.evaluator:
        parties.append({"uuid": uid("party", "evaluator"), "type": "person",
                        "name": result.evaluator})
    if parties:
        metadata["parties"] = parties
    profile_res = next((r["uuid"] for r in resources
                        if r["props"][0]["value"] == "profile"), None)
    doc: dict[str, Any] = {"assessment-results": {
        "uuid": uid("assessment-results"),
        "metadata": metadata,
        "import-ap": {"href": f"#{profile_res}" if profile_res else p.profile_id,
                      "remarks": "The assessment plan is the evaltool profile named here."},
        "results": [res],
    }}
    if resources:
        doc["assessment-results"]["back-matter"] = {"resources": resources}
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _measurement_text(m: Any) -> str:
    text = "null" if m.value is None else repr(m.value)
    if m.unit:
        text += f" {m.unit}"
    if m.threshold is not None and m.passes_if is not None:
        text += f" (pass if {m.passes_if} {m.threshold!r})"
    return text


def _finding(req: RequirementResult, fuid: str, obs_uuids: list[str]) -> dict[str, Any]:
    target: dict[str, Any] = {
        "type": "objective-id",
        "target-id": token(req.requirement_id),
        "title": req.title,
        "status": _status(req.verdict),
    }
    waived = [c.waived_by for c in req.checks if c.waived_by]
    if waived:
        target["remarks"] = "fail (waived): " + ", ".join(sorted(set(waived)))
    finding: dict[str, Any] = {
        "uuid": fuid,
        "title": f"{req.requirement_id}: {req.verdict.value}",
        "description": f"{req.requirement_id} {req.title}: {req.verdict.value} "
                       f"({len(req.checks)} check(s)).",
        "target": target,
    }
    if obs_uuids:
        finding["related-observations"] = [{"observation-uuid": u} for u in obs_uuids]
    return finding
