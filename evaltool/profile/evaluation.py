"""An evaluation input (evaluator attestations and waivers) checked against its profile."""

from __future__ import annotations

from evaltool.errors import ProfileError
from evaltool.io.profiles import LoadedEvaluation
from evaltool.model.profile import Profile
from evaltool.suggest import suggest


def check_evaluation(profile: Profile, lev: LoadedEvaluation) -> None:
    """Check an evaluation input against the profile it will be used with.

    Every attestation names a manual activity of the profile, at most once; every waiver names a
    requirement (SFR or SAR) of the profile and waiver ids are unique.
    """
    ev = lev.evaluation
    activities = [a for s in profile.sfrs for el in s.elements for a in el.activities]
    activities += [a for s in profile.sars for a in s.activities]
    manual = {a.id for a in activities if a.method == "manual"}
    automated = {a.id for a in activities if a.method == "automated"}
    seen: set[str] = set()
    for i, att in enumerate(ev.attestations):
        where = lev.doc.position(("attestations", i, "activity"))
        if att.activity in automated:
            raise ProfileError(f"attestation for {att.activity}, which is an automated activity "
                               "(its verdict comes from its checks)", path=lev.doc.path,
                               location=where)
        if att.activity not in manual:
            raise ProfileError(f"attestation for unknown activity {att.activity!r} of profile "
                               f"{profile.id}{suggest(att.activity, manual)}", path=lev.doc.path,
                               location=where)
        if att.activity in seen:
            raise ProfileError(f"second attestation for {att.activity}", path=lev.doc.path,
                               location=where)
        seen.add(att.activity)
    requirements = {s.id for s in profile.sfrs} | {s.id for s in profile.sars}
    waiver_ids: set[str] = set()
    for i, w in enumerate(ev.waivers):
        if w.id in waiver_ids:
            raise ProfileError(f"duplicate waiver id {w.id!r}", path=lev.doc.path,
                               location=lev.doc.position(("waivers", i, "id")))
        waiver_ids.add(w.id)
        if w.requirement not in requirements:
            raise ProfileError(f"waiver {w.id} names unknown requirement {w.requirement!r} of "
                               f"profile {profile.id}", path=lev.doc.path,
                               location=lev.doc.position(("waivers", i, "requirement")))
