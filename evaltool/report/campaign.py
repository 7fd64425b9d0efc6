"""The campaign summary: canonical JSON, JUnit XML (one testcase per bundle) and HTML.

Rendered from :class:`evaltool.model.campaign.CampaignSummary` only; every bundle's own result set
is written by :mod:`evaltool.report.outputs`, as ``evaltool audit`` writes it.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET

from evaltool.model.campaign import CampaignSummary
from evaltool.report.junit import add_outcome, clean

SUMMARY_NAMES = {"json": "campaign.json", "junit": "campaign.junit.xml", "html": "campaign.html"}
"""The campaign summary files in the campaign's output folder (campaign.json is written last)."""


def render_summary_json(summary: CampaignSummary) -> bytes:
    """Canonical JSON of the summary (sorted keys, two-space indent, trailing newline)."""
    data = summary.model_dump(mode="json")
    data["counts"] = summary.counts
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def render_summary_junit(summary: CampaignSummary) -> bytes:
    """JUnit XML: one testcase per bundle (fail = failure, inconclusive = error)."""
    counts = summary.counts
    suites = ET.Element("testsuites", name="evaltool campaign", tests=str(len(summary.bundles)),
                        failures=str(counts["fail"]), errors=str(counts["inconclusive"]))
    suite = ET.SubElement(suites, "testsuite", name=clean(summary.title),
                          tests=str(len(summary.bundles)), failures=str(counts["fail"]),
                          errors=str(counts["inconclusive"]),
                          skipped=str(counts["not-applicable"]))
    for b in summary.bundles:
        case = ET.SubElement(suite, "testcase", classname="campaign", name=clean(b.label))
        add_outcome(case, b.verdict,
                    clean(b.error or ", ".join(f"{n} {v}" for v, n in b.counts.items())))
    ET.indent(suites)
    body: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def render_summary_html(summary: CampaignSummary) -> bytes:
    """A self-contained HTML page: the roll-up and the per-bundle verdict table."""
    e = html.escape
    counts = summary.counts
    rows = []
    for b in summary.bundles:
        link = f'<a href="{e(b.report)}">{e(b.label)}</a>' if b.report else e(b.label)
        checks = ", ".join(f"{n} {e(v)}" for v, n in b.counts.items() if n)
        note = e(b.error) if b.error else ("reused from checkpoint" if b.reused else "")
        rows.append(f'<tr class="{e(b.verdict.value)}"><td>{link}</td><td>{e(b.bundle)}</td>'
                    f'<td>{e(b.verdict.value)}</td><td>{checks}</td><td>{note}</td></tr>')
    rollup = ", ".join(f"{n} {e(v)}" for v, n in counts.items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(summary.title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #999;padding:.3em .6em;text-align:left}}
tr.fail td:nth-child(3){{color:#a00;font-weight:bold}}
tr.inconclusive td:nth-child(3){{color:#a60}}tr.pass td:nth-child(3){{color:#060}}</style>
</head><body>
<h1>{e(summary.title)}</h1>
<p>Campaign verdict: <strong>{e(summary.verdict.value)}</strong> ({rollup} bundles).
evaltool {e(summary.tool_version)}, executor {e(summary.executor)},
started {e(summary.started_at)}, finished {e(summary.finished_at)};
campaign file SHA-256 <code>{e(summary.campaign_sha256)}</code>.</p>
<table><thead><tr><th>Bundle</th><th>Folder</th><th>Verdict</th><th>Checks</th><th>Note</th>
</tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table>
</body></html>
"""
    return page.encode()
