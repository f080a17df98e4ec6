"""generate(): plan, write and report one data set."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from qnwu_devtools.generator.calibration import CALIBRATION_YEAR, DEFAULT_MIX, EXPECTED_OUTCOMES_FILE, MAX_MONTHS, MAX_UNITS
from qnwu_devtools.generator.faults import Reservoir, WrittenFile, make_faults
from qnwu_devtools.generator.model import GenerationReport, Unit, seeded_stream
from qnwu_devtools.generator.planning import Population, first_version
from qnwu_devtools.generator.units import load_real_units, read_csv, successors_of, synthetic_unit_rows, synthetic_units
from qnwu_warehouse.contract.files import (
    write_csv,
    write_json,
    write_xlsx,
)
from qnwu_warehouse.settings import SEEDS_DIR


# --- generate -----------------------------------------------------------------------------------
def month_window(year: int, months: int) -> list[tuple[int, int]]:
    return [(year + (index // 12), index % 12 + 1) for index in range(months)]


def checked_mix(mix: dict[str, float]) -> dict[str, float]:
    unknown = set(mix) - set(DEFAULT_MIX)
    if unknown or not mix or any(v < 0 for v in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError(f"format mix must give non-negative shares of xlsx, csv, json, not {mix!r}")
    total = sum(mix.values())
    return {fmt: share / total for fmt, share in sorted(mix.items()) if share > 0}


def generate(
    out_dir: Path,
    *,
    year: int = CALIBRATION_YEAR,
    seed: int = 20231,
    months: int = 12,
    units: int | None = None,
    formats: dict[str, float] | None = None,
    faults: bool = False,
    write_file: Callable[[str, bytes], None] | None = None,
) -> GenerationReport:
    """Write the submissions of ``units`` grassroots units for ``months`` months from January of ``year``.

    ``write_file(name, content)``, if given, receives every file instead of ``out_dir``: the
    benchmark loads years of history straight into the raw layer without a file per report."""
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months must be 1..{MAX_MONTHS}, not {months}")
    if units is not None and not 1 <= units <= MAX_UNITS:
        raise ValueError(f"units must be 1..{MAX_UNITS}, not {units}")
    mix = checked_mix(dict(formats or DEFAULT_MIX))
    out_dir = Path(out_dir)
    if write_file is None:
        out_dir.mkdir(parents=True, exist_ok=True)

        def write_file(name: str, content: bytes) -> None:
            (out_dir / name).write_bytes(content)

    window = month_window(year, months)
    years = sorted({y for y, _m in window})

    real = load_real_units(seed)
    changes = read_csv(SEEDS_DIR / "unit_changes.csv") if (SEEDS_DIR / "unit_changes.csv").exists() else []
    successors = successors_of(real, changes)
    reference_units = [u for u in real if u.valid_in(CALIBRATION_YEAR, 1)]
    reference_mass = sum(u.weight for u in real for m in range(1, 13) if u.valid_in(CALIBRATION_YEAR, m)) / 12
    first_month_units = [u for u in real if u.valid_in(*window[0])]
    if not first_month_units and not units:
        raise ValueError(f"no grassroots unit is valid in {window[0][0]}-{window[0][1]:02d}")

    # Which real units are written: all of them, or a seeded spread-out subset (a slice of the full set).
    selected = {u.version_id for u in real}
    synthetic: list[Unit] = []
    if units is not None and units < len(first_month_units):
        chosen = seeded_stream(seed, "subset").sample(sorted(u.version_id for u in first_month_units), units)
        selected = set(chosen)
        for unit in sorted(real, key=lambda u: u.valid_from):
            for taker in successors.get(unit.version_id, []):
                if unit.version_id in selected:
                    selected.add(taker.version_id)
    elif units is not None and units > len(first_month_units):
        synthetic = synthetic_units(units - len(first_month_units), year, seed, reference_units)

    populations = [Population("real", real, seed, year, reference_mass, calibrated=True, successors=successors, mix=mix)]
    if synthetic:
        populations.append(
            Population("synthetic", synthetic, seed, year, reference_mass, calibrated=False, successors={}, mix=mix)
        )

    files_per_format = dict.fromkeys(mix, 0)
    outcomes: list[tuple[str, str, str]] = []
    submissions = resubmissions = late = 0
    fault_rng = seeded_stream(seed, "faults")
    general, future_ready, money = (Reservoir(fault_rng, 24), Reservoir(fault_rng, 2), Reservoir(fault_rng, 4))
    known_codes = {u.code for u in real} | {u.code for u in synthetic}
    open_codes = {u.code for u in real if u.valid_to is None}

    for plan_year in years:
        for population in populations:
            plans = population.plan_year(plan_year)
            for unit in population.units:
                if unit.version_id not in selected and not unit.synthetic:
                    continue
                for month in range(1, 13):
                    plan = plans.get((unit.version_id, month))
                    if plan is None or (plan_year, month) not in window:
                        continue
                    submission = population.submission(unit, plan_year, month, plan)
                    stem = f"{unit.code}_{plan_year:04d}-{month:02d}"
                    submissions += 1
                    late += plan.late
                    writer = {"xlsx": write_xlsx, "csv": write_csv, "json": write_json}[plan.fmt]
                    if plan.resubmission is not None:
                        resubmissions += 1
                        first = f"{stem}.{plan.fmt}"
                        write_file(first, writer(first_version(submission, plan)))
                        outcomes.append((first, "accepted", ""))
                        files_per_format[plan.fmt] += 1
                        name = f"{stem}_v2.{plan.fmt}"
                    else:
                        name = f"{stem}.{plan.fmt}"
                    content = writer(submission)
                    write_file(name, content)
                    outcomes.append((name, "accepted", ""))
                    files_per_format[plan.fmt] += 1
                    if faults and plan.resubmission is None:
                        item = WrittenFile(name, plan.fmt, submission, content)
                        general.offer(item)
                        if unit.code in open_codes:
                            future_ready.offer(item)
                        if any(isinstance(r["value"], int) and r["value"] >= 1000 for r in submission["values"]):
                            money.offer(item)

    fault_files = make_faults(fault_rng, general.items, future_ready.items, money.items, known_codes, year) if faults else []
    for name, content, outcome, reason in fault_files:
        write_file(name, content)
        outcomes.append((name, outcome, reason))
    if faults:
        buffer = io.StringIO()
        writer_csv = csv.writer(buffer, lineterminator="\n")
        writer_csv.writerow(("file_name", "expected_outcome", "reason_code"))
        writer_csv.writerows(sorted(outcomes))
        write_file(EXPECTED_OUTCOMES_FILE, buffer.getvalue().encode("utf-8"))
    return GenerationReport(
        out_dir=out_dir,
        files_per_format=files_per_format,
        submissions=submissions,
        resubmissions=resubmissions,
        late=late,
        faults=len(fault_files),
        synthetic_units=synthetic_unit_rows(synthetic),
        expected_outcomes=sorted(outcomes),
    )
