"""``evaltool leakage``: the leakage battery on a per-pulse table or on lab trace arrays.

Reads the label and feature columns in chunks (bounded memory; results do not depend on the chunk
size), runs the battery of :mod:`evaltool.engines.leakage` and applies the rule of
:mod:`evaltool.checks.leakage`. Exit code 0 pass, 1 fail, 3 inconclusive, 4 bad input.

Inputs: a Parquet or CSV table (label and features are columns), or lab side-channel captures as
NumPy arrays: an ``.npz`` archive whose arrays are named by ``--label`` (1-D, one value per trace)
and ``--feature`` (a 1-D array, a 2-D traces array for all its samples, ``NAME[j]`` for sample j or
``NAME[a:b]`` for a range), or a 2-D ``.npy`` traces array (memory-mapped, named ``traces``) with
``--label`` naming a 1-D ``.npy`` file of labels beside it.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from numpy.typing import NDArray

from evaltool.checks.leakage import LeakageDecision, decide, run_battery
from evaltool.errors import EvidenceError, ExitCode, InsufficientDataError, UsageError
from evaltool.io.tables import open_parquet
from evaltool.io.traces import load_capture, require_finite
from evaltool.model.verdict import Verdict

if TYPE_CHECKING:
    from evaltool.engines.leakage import FeatureBatteryResult

_EXIT = {Verdict.PASS: ExitCode.PASS, Verdict.FAIL: ExitCode.FAIL,
         Verdict.INCONCLUSIVE: ExitCode.INCONCLUSIVE}


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in (".parquet", ".pq"):
        return True
    if path.suffix.lower() == ".csv":
        return False
    with path.open("rb") as f:
        return f.read(4) == b"PAR1"


def iter_columns(path: Path, columns: Sequence[str], chunk_rows: int) -> Iterator[pa.Table]:
    """Yield the ``columns`` of a Parquet or CSV file in tables of at most ``chunk_rows`` rows."""
    display = str(path)
    try:
        if _is_parquet(path):
            pf = open_parquet(path, display)
            _require(pf.schema_arrow.names, columns, display)
            for batch in pf.iter_batches(batch_size=chunk_rows, columns=list(columns)):
                yield pa.Table.from_batches([batch])
            return
        with path.open("r", encoding="utf-8", newline="") as f:
            header = next(csv.reader([f.readline(1 << 20)]), [])
        _require(header, columns, display)
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=8 << 20),
            convert_options=pacsv.ConvertOptions(include_columns=list(columns)),
        )
        pending: list[pa.RecordBatch] = []
        count = 0
        for batch in reader:
            pending.append(batch)
            count += batch.num_rows
            while count >= chunk_rows:
                table = pa.Table.from_batches(pending)
                yield table.slice(0, chunk_rows)
                rest = table.slice(chunk_rows)
                pending, count = rest.to_batches(), rest.num_rows
        if count:
            yield pa.Table.from_batches(pending)
    except UnicodeDecodeError:
        raise EvidenceError("CSV file is not valid UTF-8", path=display) from None
    except (pa.ArrowException, OSError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EvidenceError(f"unreadable table ({text})", path=display) from None


def _require(names: Sequence[str], columns: Sequence[str], display: str) -> None:
    missing = [c for c in columns if c not in names]
    if missing:
        raise EvidenceError(
            f"missing column(s): {', '.join(missing)} (the file has {', '.join(names)})",
            path=display,
        )


def _column(table: pa.Table, name: str, display: str) -> NDArray[Any]:
    col = table.column(name)
    if col.null_count:
        raise EvidenceError(f"column {name!r} has empty values", path=display)
    return np.asarray(col.to_numpy())


def _features(table: pa.Table, names: Sequence[str], display: str) -> NDArray[np.float64]:
    cols = []
    for name in names:
        values = _column(table, name, display)
        if not (np.issubdtype(values.dtype, np.number) or values.dtype == np.bool_):
            raise EvidenceError(f"feature column {name!r} is not numeric", path=display)
        values = values.astype(np.float64)
        if not np.all(np.isfinite(values)):
            raise EvidenceError(f"feature column {name!r} has NaN or infinite values",
                                path=display)
        cols.append(values)
    return np.stack(cols, axis=1)


_SELECT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<a>\d+)(?::(?P<b>\d+))?\])?$")


def _select(arrays: dict[str, NDArray[Any]], spec: str, n: int, display: str
            ) -> list[tuple[str, NDArray[Any], int | None]]:
    """(feature name, array, column or None) for one ``--feature`` of an array input."""
    m = _SELECT.match(spec)
    if m is None or m.group("name") not in arrays:
        raise EvidenceError(f"no array for feature {spec!r} (arrays: {', '.join(arrays)})",
                            path=display)
    arr = arrays[m.group("name")]
    if arr.shape[:1] != (n,) or arr.ndim not in (1, 2):
        raise EvidenceError(f"array {m.group('name')!r} has shape {arr.shape}, expected ({n},) or "
                            f"({n}, samples)", path=display)
    if not np.issubdtype(arr.dtype, np.number):
        raise EvidenceError(f"array {m.group('name')!r} is not numeric", path=display)
    if arr.ndim == 1:
        if m.group("a") is not None:
            raise EvidenceError(f"array {m.group('name')!r} is 1-D; drop the index", path=display)
        return [(spec, arr, None)]
    width = arr.shape[1]
    a = 0 if m.group("a") is None else int(m.group("a"))
    b = (width if m.group("a") is None else a + 1) if m.group("b") is None else int(m.group("b"))
    if not 0 <= a < b <= width:
        raise EvidenceError(f"samples {a}:{b} outside 0:{width} of {m.group('name')!r}",
                            path=display)
    return [(f"{m.group('name')}[{j}]", arr, j) for j in range(a, b)]


def array_battery(
    path: Path, label: str, features: Sequence[str], *, orders: Sequence[int], lag: int,
    chunk_rows: int,
) -> FeatureBatteryResult:
    """The battery on NumPy trace arrays, read in chunks of ``chunk_rows`` traces."""
    display = str(path)
    arrays = load_capture(path, label)
    if label not in arrays or arrays[label].ndim != 1:
        raise EvidenceError(f"no 1-D label array {label!r}", path=display)
    labels = arrays[label]
    n = labels.shape[0]
    cols = [c for spec in features for c in _select(arrays, spec, n, display)]
    names = [c[0] for c in cols]
    if len(set(names)) != len(names):
        raise UsageError("a feature is selected twice")

    def chunks() -> Iterator[tuple[NDArray[Any], NDArray[np.float64]]]:
        for start in range(0, n, chunk_rows):
            stop = min(n, start + chunk_rows)
            x = np.empty((stop - start, len(cols)), dtype=np.float64)
            for k, (_, arr, j) in enumerate(cols):
                x[:, k] = arr[start:stop] if j is None else arr[start:stop, j]
            require_finite(x, display, first_trace=start, names=names)
            yield np.asarray(labels[start:stop]), x

    label_chunks = (np.asarray(labels[s:s + chunk_rows]) for s in range(0, n, chunk_rows))
    try:
        return run_battery(label_chunks, chunks(), names, orders=orders, lag=lag)
    except InsufficientDataError as exc:
        raise InsufficientDataError(f"label {label!r}: {exc.message}", path=display) from None


def battery(
    path: Path, label: str, features: Sequence[str], *, orders: Sequence[int], lag: int,
    chunk_rows: int,
) -> FeatureBatteryResult:
    """Two chunked passes over the file: the label's values, then label and features."""
    if path.suffix.lower() in (".npy", ".npz"):
        return array_battery(path, label, features, orders=orders, lag=lag, chunk_rows=chunk_rows)
    display = str(path)
    label_chunks = (_column(t, label, display) for t in iter_columns(path, [label], chunk_rows))
    table_chunks = (
        (_column(t, label, display), _features(t, features, display))
        for t in iter_columns(path, [label, *features], chunk_rows)
    )
    try:
        return run_battery(label_chunks, table_chunks, features, orders=orders, lag=lag)
    except InsufficientDataError as exc:
        raise InsufficientDataError(f"label column {label!r}: {exc.message}", path=display
                                    ) from None


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def to_json(result: FeatureBatteryResult, decision: LeakageDecision) -> dict[str, Any]:
    """The documented JSON document (issue 7): verdict and per-feature statistics."""
    out: dict[str, Any] = {}
    for j, name in enumerate(result.features):
        entry: dict[str, Any] = {}
        if result.t:
            entry["t"] = {str(o): _num(r.statistic[j]) for o, r in result.t.items()}
            entry["p"] = {str(o): _num(r.pvalue[j]) for o, r in result.t.items()}
        else:
            entry["t"] = {str(o): None for o in result.orders}
            entry["p"] = {str(o): _num(r.pvalue[j]) for o, r in result.anova.items()}
            entry["anova"] = {str(o): _num(r.statistic[j]) for o, r in result.anova.items()}
        if result.bivariate is not None:
            entry["bivariate"] = {"lag": result.lag, "t": _num(result.bivariate.statistic[j]),
                                  "p": _num(result.bivariate.pvalue[j])}
        sweep = result.sweeps[j]
        entry["chi2"] = {"statistic": _num(sweep.statistic), "pvalue": _num(sweep.pvalue),
                         "bin_width": _num(sweep.bin_width)}
        for key, bound in (("mi", result.mi[j]), ("tvd", result.tvd[j])):
            entry[key] = {"value": _num(bound.value), "ci": [_num(bound.ci[0]), _num(bound.ci[1])]}
        entry["mde"] = _num(decision.mde[j])
        out[name] = entry
    return {"verdict": decision.outcome.verdict.value, "reason": decision.outcome.reason,
            "features": out}


def _text(result: FeatureBatteryResult, decision: LeakageDecision) -> str:
    def f(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.4g}"

    lines = [f"classes: {result.n.tolist()} rows; tests: {decision.n_tests}; "
             f"|t| threshold {decision.critical_t:.4g} (family-wise α {decision.family_alpha:.3g})"]
    doc = to_json(result, decision)
    for name, e in doc["features"].items():
        ts = ", ".join(f"t{o}={f(v)}" for o, v in e["t"].items())
        ps = ", ".join(f"p{o}={f(v)}" for o, v in e["p"].items())
        lines.append(f"{name}: {ts}; {ps}")
        if "bivariate" in e:
            b = e["bivariate"]
            lines.append(f"  centred product with pulse n-{b['lag']}: t={f(b['t'])}, p={f(b['p'])}")
        c = e["chi2"]
        lines.append(f"  chi2={f(c['statistic'])} p={f(c['pvalue'])} (bin width "
                     f"{f(c['bin_width'])}); MI={f(e['mi']['value'])} bit "
                     f"[{f(e['mi']['ci'][0])}, {f(e['mi']['ci'][1])}]; "
                     f"TVD={f(e['tvd']['value'])} [{f(e['tvd']['ci'][0])}, "
                     f"{f(e['tvd']['ci'][1])}]; MDE={f(e['mde'])}")
    lines.append(f"verdict: {doc['verdict']}: {doc['reason']}")
    return "\n".join(lines)


def _orders(value: str) -> list[int]:
    try:
        orders = sorted({int(v) for v in value.split(",") if v.strip()})
    except ValueError:
        raise UsageError(f"--order must be a comma-separated list of 1, 2, 3, got {value!r}"
                         ) from None
    if not orders or any(not 1 <= o <= 3 for o in orders):
        raise UsageError(f"--order must be a comma-separated list of 1, 2, 3, got {value!r}")
    return orders


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--label", required=True, help="Column holding the setting (basis, bit, class).")
@click.option("--feature", "features", required=True, multiple=True,
              help="Numeric per-pulse feature column (repeat, or separate with commas).")
@click.option("--order", "order", default="1", show_default=True,
              help="Comma-separated univariate t-test orders (1, 2, 3).")
@click.option("--condition-previous", "condition_previous", type=click.IntRange(min=1),
              default=None,
              help="K: classify pulse n by the label of pulse n-K and add the centred-product "
                   "test between pulse n and pulse n-K.")
@click.option("--chunk-rows", type=click.IntRange(min=1), default=1 << 18, show_default=True,
              help="Rows read per chunk (memory bound; results do not depend on it).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document to stdout.")
@click.pass_context
def leakage(ctx: click.Context, file: Path, label: str, features: tuple[str, ...], order: str,
            condition_previous: int | None, chunk_rows: int, as_json: bool) -> None:
    """Test whether per-pulse features in FILE (Parquet, CSV, or .npz/.npy traces) depend on a
    label.

    Runs Welch t-tests of the given orders (or Welch's ANOVA for more than two label values),
    a chi-squared bin-width sweep, mutual information and total-variation distance with bootstrap
    intervals, and the minimum detectable effect. Verdict: fail if any |t| exceeds the TVLA 4.5
    threshold raised for the number of tests (Sidak, family-wise alpha 6.8e-6) or any p-value is
    below the matching level; inconclusive if no test fails but the minimum detectable effect
    exceeds 0.05 pooled standard deviations at power 0.8; pass otherwise.
    Exit status: 0 pass, 1 fail, 3 inconclusive, 4 unreadable input.
    """
    features = tuple(f.strip() for value in features for f in value.split(",") if f.strip())
    if label in features:
        raise UsageError(f"column {label!r} is both the label and a feature")
    if len(set(features)) != len(features):
        raise UsageError("a feature column is given twice")
    orders = _orders(order)
    try:
        result = battery(file, label, features, orders=orders, lag=condition_previous or 0,
                         chunk_rows=chunk_rows)
    except InsufficientDataError as exc:
        # Too little data is an evaluation outcome (inconclusive), not a malformed input.
        if as_json:
            doc = {"verdict": Verdict.INCONCLUSIVE.value, "reason": str(exc), "features": {}}
            click.echo(json.dumps(doc, indent=2))
        else:
            click.echo(f"verdict: {Verdict.INCONCLUSIVE.value}: {exc}")
        ctx.exit(ExitCode.INCONCLUSIVE)
    decision = decide(result)
    if as_json:
        click.echo(json.dumps(to_json(result, decision), indent=2, allow_nan=False))
    else:
        click.echo(_text(result, decision))
    ctx.exit(_EXIT[decision.outcome.verdict])
