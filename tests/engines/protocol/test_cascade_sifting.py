"""Basis sifting (the step before Cascade): a hand-worked example and a per-pulse count."""

from __future__ import annotations

import numpy as np
import pytest

from evaltool.engines.protocol.sifting import sift


def test_hand_worked_example() -> None:
    # pulse:     0  1  2  3  4  5  6  7
    # A bit      1  0  1  1  0  0  1  0
    # A basis    0  0  1  1  0  1  0  1
    # B basis    0  1  1  1  0  1  0  0
    # B bit      1  1  0  1  1  0  1  0
    # detected   1  1  1  1  1  0  1  1
    # class      0  0  1  1  0  1  1  0
    # kept, key basis 0: pulses 0 (ok), 4 (error), 6 (ok) -> class 0: 2 detections, 1 error;
    #                    class 1: 1 detection (pulse 6), 0 errors.
    # kept, test basis 1: pulses 2 (error, class 1), 3 (ok, class 1); pulse 5 not detected.
    res = sift([1, 0, 1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 1, 0, 1], [1, 1, 0, 1, 1, 0, 1, 0],
               [0, 1, 1, 1, 0, 1, 0, 0], [1, 1, 1, 1, 1, 0, 1, 1],
               intensity=[0, 0, 1, 1, 0, 1, 1, 0])
    assert res.key_detections.tolist() == [2, 1]
    assert res.key_errors.tolist() == [1, 0]
    assert res.test_detections.tolist() == [0, 2]
    assert res.test_errors.tolist() == [0, 1]
    assert res.key_alice.tolist() == [1, 0, 1] and res.key_bob.tolist() == [1, 1, 1]
    assert res.qber_key == pytest.approx(1 / 3)
    assert (res.n_pulses, res.n_detected) == (8, 7)


def test_counts_match_a_per_pulse_loop() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    a, ab, bb = (rng.integers(0, 2, n, dtype=np.uint8) for _ in range(3))
    b = a ^ (rng.random(n) < 0.03).astype(np.uint8)
    det = (rng.random(n) < 0.2).astype(np.uint8)
    cls = rng.integers(0, 3, n)
    res = sift(a, ab, b, bb, det, intensity=cls, key_basis=1)
    kd = np.zeros(3, int)
    ke = np.zeros(3, int)
    td = np.zeros(3, int)
    for i in range(n):
        if det[i] and ab[i] == bb[i]:
            if ab[i] == 1:
                kd[cls[i]] += 1
                ke[cls[i]] += int(a[i] != b[i])
            else:
                td[cls[i]] += 1
    assert res.key_detections.tolist() == kd.tolist()
    assert res.key_errors.tolist() == ke.tolist()
    assert res.test_detections.tolist() == td.tolist()
    assert res.key_alice.size == kd.sum()


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="same length"):
        sift([0, 1], [0, 1], [0], [0, 1], [1, 1])
    with pytest.raises(ValueError, match="n_classes"):
        sift([0], [0], [0], [0], [1], intensity=[2], n_classes=2)
