"""Contract of the protocol plugin registry (docs/protocols.md): every plugin names real check
kinds, real profile activities, evidence columns the bundle schema knows and bounds whose
declared version is the engine's."""

from __future__ import annotations

import re

import pytest

from evaltool.checks import all_checks
from evaltool.checks.plan import build_plan
from evaltool.errors import EvidenceError
from evaltool.io.profiles import load_profile
from evaltool.model.bundle import ProtocolClaims
from evaltool.protocols import CHECK_ROLES, all_bounds, get_plugin, plugin_ids, plugins
from tests.support import PROFILE

PLUGINS = plugins()


def test_registered_protocols() -> None:
    assert plugin_ids() == ("bb84-decoy-2", "bb84-decoy-3", "gg02")
    assert all_bounds() == {"lim2014": ("bb84-decoy-3",), "mountogiannakis2022": ("gg02",),
                            "rusca2018": ("bb84-decoy-2",)}


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.id)
def test_plugin_names_registered_check_kinds(plugin) -> None:
    kinds = {c.kind for c in all_checks()}
    assert set(plugin.checks) == set(CHECK_ROLES)
    named = {k for k in plugin.checks.values() if k is not None}
    assert named <= kinds


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.id)
def test_plugin_activities_exist_in_the_profile(plugin) -> None:
    plan = build_plan(load_profile(PROFILE))
    ids = {pa.activity.id for pa in plan.activities}
    assert set(plugin.activities) <= ids


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.id)
def test_bound_versions_are_the_engines(plugin) -> None:
    for name, spec in plugin.bounds.items():
        engine = spec.load()
        assert spec.name == name
        assert (getattr(engine, "name", None) or engine.BOUND_NAME) == name
        assert (getattr(engine, "version", None) or engine.BOUND_VERSION) == spec.version
        assert spec.reference


def test_bb84_claims_model_is_the_manifests() -> None:
    assert get_plugin("bb84-decoy-3").claims_model is ProtocolClaims
    assert get_plugin("bb84-decoy-3").evidence


def test_unknown_protocol_is_one_line_bad_input() -> None:
    with pytest.raises(EvidenceError) as info:
        get_plugin("e91")
    assert str(info.value) == (
        "claims.protocol: protocol 'e91' has no plugin (known: bb84-decoy-2, bb84-decoy-3, gg02)")
    assert info.value.exit_code == 4


def test_bound_of_another_protocol_names_its_owner() -> None:
    with pytest.raises(EvidenceError, match=re.escape(
            "bound 'lim2014' is not defined for protocol gg02 (it is defined for bb84-decoy-3); "
            "defined: mountogiannakis2022")):
        get_plugin("gg02").bound("lim2014")


def test_claims_of_another_protocol_are_refused() -> None:
    bb84 = {"protocol": "bb84-decoy-3", "bound": "lim2014", "intensities": [0.5, 0.1, 0.0],
            "probabilities": [0.8, 0.1, 0.1], "eps_sec": 1e-9, "eps_cor": 1e-15,
            "block_size": 10**6, "qber_abort_threshold": 0.05}
    with pytest.raises(EvidenceError, match="claims are for protocol 'bb84-decoy-3', "
                                            "evaluated as gg02"):
        get_plugin("gg02").validate_claims(bb84)
    assert get_plugin("bb84-decoy-3").validate_claims(bb84).bound == "lim2014"


def test_st_problems() -> None:
    plugin = get_plugin("bb84-decoy-3")
    claims = ProtocolClaims.model_validate(
        {"protocol": "bb84-decoy-3", "bound": "lim2014", "intensities": [0.5, 0.1, 0.0],
         "probabilities": [0.8, 0.1, 0.1], "eps_sec": 1e-9, "eps_cor": 1e-15,
         "block_size": 10**6, "qber_abort_threshold": 0.05})
    assert plugin.st_problems(claims, {"protocol": "bb84-decoy-3",
                                       "finite_key_bound": "lim2014"}) == []
    assert plugin.st_problems(claims, {"protocol": "bb84-decoy-2",
                                       "finite_key_bound": "rusca2018"}) == [
        "the ST selects protocol 'bb84-decoy-2', the claims 'bb84-decoy-3'",
        "the ST's bound 'rusca2018' is not defined for bb84-decoy-3",
        "the claimed bound 'lim2014' is not the ST's 'rusca2018'",
    ]


@pytest.mark.parametrize("plugin", [p for p in PLUGINS if p.checks["key-length-bound"]],
                         ids=lambda p: p.id)
def test_evidence_columns_of_checked_plugins_are_in_the_bundle_schema(plugin) -> None:
    # A plugin whose checks run reads only columns the evidence schema describes (GG02's
    # columns join the schema with its checks; docs/protocols.md).
    from evaltool.model.bundle import TABLE_SCHEMAS

    for kind, columns in plugin.evidence.items():
        specs = TABLE_SCHEMAS.get(kind, ())
        for column in columns:
            name = column.format(k=0)
            assert any(s.matches(name) for s in specs), (kind, name)
