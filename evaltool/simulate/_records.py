"""The simulated modules' logs of conventional security functions: self-tests, the audit trail,
the key-delivery logs of both modules and the lab's isolation spectrum.

The records follow ``docs/bundle-format.md`` ("Logs"): every audit record carries its time, event
type, subject, outcome and user (CC Part 2 FAU_GEN.1.2, FAU_GEN.2.1), a sequence number and the
SHA-256 of the previous record (the hash chain ``audit.trail-integrity`` verifies).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd

from evaltool.simulate._device import Deviation
from evaltool.simulate._generate import Timeline, stream

FAILED_SELF_TEST_BLOCK = 6
"""The periodic self-test after this block's key delivery fails; the retest passes."""
LOCKED_USER = "operator-2"
AUTH_FAILURE_LIMIT = 3
"""The ST's ``auth_failure_limit`` (consecutive failed authentications before lock-out)."""
DEVICE = ("tsf", "tsf")
"""(user, role) of records of events the modules raise themselves."""
GENESIS = "0" * 64


def deliveries(blocks: pd.DataFrame, dev: Deviation, delay_s: float = 0.01) -> pd.DataFrame:
    """Keys delivered by one module: ``time_s``, ``key_id``, ``pa_output_bits``."""
    kd = blocks.loc[blocks["pa_output_bits"] > 0, ["time_s", "key_id", "pa_output_bits"]].copy()
    kd["time_s"] = (kd["time_s"] + delay_s).round(6)
    if dev.reused_key_id and len(kd) > 2:
        kd.iloc[2, kd.columns.get_loc("key_id")] = kd.iloc[1]["key_id"]
    return kd.reset_index(drop=True)


def self_tests(dev: Deviation, tl: Timeline) -> list[dict[str, object]]:
    """Power-on self-test, the RNG's start-up test (unless ``dev`` skips it), the start of the
    RNG's output, and periodic self-tests every five blocks; the one after block
    :data:`FAILED_SELF_TEST_BLOCK` fails, and key delivery waits for the passing retest (unless
    ``dev.delivery_in_failed_state``: the retest comes after the next block's delivery)."""
    records: list[dict[str, object]] = [
        {"time_s": 0.0, "event": "power-on-self-test", "result": "pass"}]
    if dev.rng_startup_test:
        records.append({"time_s": 0.01, "event": "rng-startup-test", "result": "pass"})
    records.append({"time_s": 0.02, "event": "rng-output-enabled"})
    b = FAILED_SELF_TEST_BLOCK
    periodic = [(round(tl.block_end(k) + 0.02, 6), "pass") for k in range(4, tl.blocks, 5)]
    if b < tl.blocks - 1:
        retest = tl.block_end(b + 1) + (0.5 if dev.delivery_in_failed_state else -0.5)
        periodic += [(round(tl.block_end(b) + 0.02, 6), "fail"), (round(retest, 6), "pass")]
    records += [{"time_s": t, "event": "periodic-self-test", "result": r,
                 "tests": ["optical-power", "detector-temperature", "monitor-function"]}
                for t, r in sorted(periodic)]
    return records


def _user(user: str, role: str) -> dict[str, object]:
    return {"user": user, "role": role}


def _management(dev: Deviation) -> list[dict[str, object]]:
    """Identification and management at the start of the session: a user who fails to
    authenticate until locked out, a threshold changed by the admin, the operator's attempt
    refused (unless the deviation lets it through), a monitor reconfigured by the admin."""
    out: list[dict[str, object]] = [
        {"time_s": 0.0, "event": "session-start", "subject": "session", "outcome": "success",
         **_user("operator", "operator")}]
    tries = AUTH_FAILURE_LIMIT if dev.lockout else AUTH_FAILURE_LIMIT + 1
    out.extend({"time_s": round(0.1 + 0.05 * i, 6), "event": "auth-failure", "subject": "login",
                "outcome": "failure", **_user(LOCKED_USER, "operator")} for i in range(tries))
    t = 0.1 + 0.05 * tries
    if dev.lockout:
        out += [{"time_s": round(t - 0.05, 6), "event": "account-locked",
                 "subject": f"account {LOCKED_USER}", "outcome": "success",
                 "failures": AUTH_FAILURE_LIMIT, **_user(LOCKED_USER, "operator")},
                {"time_s": round(t + 0.1, 6), "event": "auth-failure", "subject": "login",
                 "outcome": "failure", "reason": "account locked",
                 **_user(LOCKED_USER, "operator")}]
    else:
        out.append({"time_s": round(t + 0.1, 6), "event": "auth-success", "subject": "login",
                    "outcome": "success", **_user(LOCKED_USER, "operator")})
    op_outcome = "success" if dev.operator_changes_thresholds else "failure"
    out += [
        {"time_s": 0.5, "event": "threshold-changed", "subject": "qber_abort_threshold",
         "outcome": "success", "old": 0.03, "new": 0.025, **_user("admin", "admin")},
        {"time_s": 0.55, "event": "threshold-changed", "subject": "qber_abort_threshold",
         "outcome": op_outcome, "old": 0.025, "new": 0.04, **_user("operator", "operator")},
        {"time_s": 0.6, "event": "monitor-changed", "subject": "ingress-power monitor",
         "outcome": "success", "setting": "enabled", **_user("admin", "admin")},
    ]
    if dev.operator_changes_thresholds:
        out.append({"time_s": 0.65, "event": "threshold-changed",
                    "subject": "qber_abort_threshold", "outcome": "success", "old": 0.04,
                    "new": 0.025, **_user("admin", "admin")})
    return out


def _chain(records: list[dict[str, object]]) -> list[dict[str, object]]:
    """Sequence numbers and the hash chain: ``prev_sha256`` is the SHA-256 of the previous
    record's canonical JSON (keys sorted, no spaces), all zeros for the first."""
    out: list[dict[str, object]] = []
    prev = GENESIS
    for i, r in enumerate(records):
        rec = {**r, "seq": i, "prev_sha256": prev}
        prev = hashlib.sha256(json.dumps(rec, sort_keys=True, separators=(",", ":"))
                              .encode()).hexdigest()
        out.append(rec)
    return out


def audit(dev: Deviation, tl: Timeline, blocks: pd.DataFrame, delivered: pd.DataFrame,
          ingress_alarm: bool) -> list[dict[str, object]]:
    """The transmitter's audit trail (see the module docstring)."""
    tsf = _user(*DEVICE)
    records = _management(dev)
    if ingress_alarm:
        records.append({"time_s": tl.alarm_log_s, "event": "ingress-alarm",
                        "channel": "tx_ingress_power_dbm", "subject": "tx_ingress_power_dbm",
                        "outcome": "alarm", **tsf})
    aborted = blocks.loc[blocks["aborted"] == 1, ["time_s", "block_id"]]
    for t, b in zip(aborted["time_s"], aborted["block_id"], strict=True):
        records += [{"time_s": float(t), "event": "abort", "block_id": int(b),
                     "subject": f"block {int(b)}", "outcome": "success", **tsf},
                    {"time_s": round(float(t) + 0.005, 6), "event": "block-destroyed",
                     "block_id": int(b), "subject": f"block {int(b)}", "outcome": "success",
                     **tsf}]
    skip = set(blocks.loc[blocks["block_id"].isin(dev.destruction_missing), "key_id"])
    for t, kid in zip(delivered["time_s"], delivered["key_id"], strict=True):
        if kid in skip:
            continue
        records.append({"time_s": round(float(t) + 0.005, 6), "event": "key-destroyed",
                        "key_id": str(kid), "subject": f"key {kid}", "outcome": "success",
                        **tsf})
    end = round(tl.duration_s + 0.1, 6) if dev.tamper_zeroisation else round(
        tl.block_end(tl.blocks // 2 + 2) + 0.2, 6)
    records += [{"time_s": end, "event": "tamper-detected", "subject": "transmitter enclosure",
                 "outcome": "alarm", **tsf},
                {"time_s": end, "event": "tamper-alarm", "subject": "administrator notified",
                 "outcome": "success", **tsf}]
    if dev.tamper_zeroisation:
        records.append({"time_s": round(end + 0.05, 6), "event": "zeroisation",
                        "subject": "all keys and key material", "outcome": "success", **tsf})
    last = max(float(r["time_s"]) for r in records)  # type: ignore[arg-type]
    records.sort(key=lambda r: float(r["time_s"]))  # type: ignore[arg-type]
    records.append({"time_s": round(max(last, tl.duration_s) + 0.1, 6), "event": "session-end",
                    "subject": "session", "outcome": "success", **tsf})
    if dev.audit_without_user:
        records = [{k: v for k, v in r.items() if k != "user"} for r in records]
    chained = _chain(records)
    if dev.audit_record_deleted:
        # The refused login of the locked account: a record no other rule needs.
        gone = next((i for i, r in enumerate(chained) if r.get("reason") == "account locked"),
                    len(chained) // 2)
        del chained[gone]
    return chained


def isolation_spectrum(dev: Deviation, seed: int) -> pd.DataFrame:
    """The lab's isolation spectrum of the transmitter's quantum port, 1000-1700 nm in 1 nm
    steps: about 132 dB with a slow ripple and 0.5 dB measurement noise, and ``dev``'s dip."""
    rng = stream(seed, "isolation.csv")
    wl = np.arange(1000.0, 1701.0, 1.0)
    iso = 132.0 + 3.0 * np.sin(wl / 37.0) + 0.5 * rng.standard_normal(wl.size)
    iso -= dev.isolation_dip_db * ((wl >= 1300.0) & (wl <= 1320.0))
    return pd.DataFrame({"wavelength_nm": wl, "isolation_db": np.round(iso, 2)})


__all__ = ["AUTH_FAILURE_LIMIT", "audit", "deliveries", "isolation_spectrum", "self_tests"]
