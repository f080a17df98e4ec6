"""The units the generator reports for: the real units of the seeds with their history, their
successors at each unit change, and synthetic units for national-scale data."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from qnwu_devtools.generator.calibration import DISTRICT_PROFILES, SYNTHETIC_CODE_PREFIX, UNIT_TYPE_FACTOR
from qnwu_devtools.generator.model import Unit, seeded_stream, short_district
from qnwu_warehouse.settings import SEEDS_DIR


# --- units --------------------------------------------------------------------------------------
def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_real_units(seed: int, seeds_dir: Path = SEEDS_DIR) -> list[Unit]:
    """Every grassroots unit version of seeds/units.csv with its weight; mergers inherit weights."""
    rows = [row for row in read_csv(seeds_dir / "units.csv") if row["unit_level"] == "grassroots"]
    changes = read_csv(seeds_dir / "unit_changes.csv") if (seeds_dir / "unit_changes.csv").exists() else []
    rng = seeded_stream(seed, "unit-profiles")
    rows.sort(key=lambda row: (row["valid_from"], row["unit_code"]))
    units: list[Unit] = []
    by_code: dict[str, list[Unit]] = {}
    for row in rows:
        unit = Unit(
            version_id=row["unit_version_id"],
            code=row["unit_code"],
            name=row["unit_name"],
            unit_type=row["unit_type"],
            district=short_district(row["district_name"]),
            district_code=row["district_code"],
            district_name=row["district_name"],
            valid_from=date.fromisoformat(row["valid_from"]),
            valid_to=date.fromisoformat(row["valid_to"]) if row["valid_to"] else None,
        )
        noise = rng.uniform(0.6, 1.4)
        predecessors = _predecessors(unit, by_code, changes)
        if predecessors:
            unit.weight = sum(share * old.weight for old, share in predecessors)
            unit.minority = sum(share * old.minority * old.weight for old, share in predecessors) / max(unit.weight, 1e-9)
            main = max(predecessors, key=lambda pair: pair[1] * pair[0].weight)[0]
            unit.district = unit.district or main.district
        else:
            busy, minority = DISTRICT_PROFILES.get(unit.district, (1.0, 0.1))
            unit.weight = busy * UNIT_TYPE_FACTOR.get(unit.unit_type, 1.0) * noise
            unit.minority = min(0.98, minority * rng.uniform(0.6, 1.4))
        units.append(unit)
        by_code.setdefault(unit.code, []).append(unit)
    return units


def _predecessors(unit: Unit, by_code: dict[str, list[Unit]], changes: list[dict[str, str]]):
    """(old unit version, share of it) that became this unit on its valid_from."""
    day = unit.valid_from.isoformat()
    found = []
    for change in changes:
        if change["change_date"] == day and change["new_unit_code"] == unit.code:
            successors = sum(
                1
                for other in changes
                if other["change_date"] == day
                and other["old_unit_code"] == change["old_unit_code"]
                and other["new_unit_code"]
            )
            for old in by_code.get(change["old_unit_code"], []):
                if old.valid_to == unit.valid_from:
                    found.append((old, 1.0 / max(successors, 1)))
    if not found:
        found = [(old, 1.0) for old in by_code.get(unit.code, []) if old.valid_to == unit.valid_from]
    return found


def successors_of(units: list[Unit], changes: list[dict[str, str]]) -> dict[str, list[Unit]]:
    """old version_id -> the unit versions that took it over (same code continues, or unit_changes)."""
    by_code: dict[str, list[Unit]] = {}
    for unit in units:
        by_code.setdefault(unit.code, []).append(unit)
    result: dict[str, list[Unit]] = {}
    for unit in units:
        if unit.valid_to is None:
            continue
        day = unit.valid_to.isoformat()
        targets = {
            change["new_unit_code"]
            for change in changes
            if change["change_date"] == day and change["old_unit_code"] == unit.code and change["new_unit_code"]
        }
        if not targets:
            targets = {unit.code}
        found = [other for code in sorted(targets) for other in by_code.get(code, []) if other.valid_from == unit.valid_to]
        if found:
            result[unit.version_id] = found
    return result


def synthetic_units(count: int, year: int, seed: int, template: list[Unit]) -> list[Unit]:
    """Clearly synthetic extra units (codes 9xxxx, names 'Đơn vị giả lập ...') spread over districts."""
    rng = seeded_stream(seed, "synthetic-units")
    districts = sorted({(u.district, u.district_code, u.district_name) for u in template if u.district_code})
    counts = [sum(1 for u in template if u.district_code == code) for _d, code, _n in districts]
    result = []
    for index in range(count):
        district, district_code, district_name = rng.choices(districts, weights=counts)[0]
        unit_type = rng.choices(("Xã", "Phường", "Thị trấn"), weights=(55, 40, 5))[0]
        code = f"{SYNTHETIC_CODE_PREFIX}{index:04d}"
        busy, minority = DISTRICT_PROFILES.get(district, (1.0, 0.1))
        result.append(
            Unit(
                version_id=f"{code}@{year}-01-01",
                code=code,
                name=f"Đơn vị giả lập {code} ({district})",
                unit_type=unit_type,
                district=district,
                district_code=district_code,
                district_name=district_name,
                valid_from=date(year, 1, 1),
                valid_to=None,
                weight=busy * UNIT_TYPE_FACTOR[unit_type] * rng.uniform(0.6, 1.4),
                minority=min(0.98, minority * rng.uniform(0.6, 1.4)),
                synthetic=True,
            )
        )
    return result


def synthetic_unit_rows(units: list[Unit]) -> list[dict[str, str]]:
    return [
        {
            "unit_version_id": u.version_id,
            "unit_code": u.code,
            "unit_name": u.name,
            "unit_level": "grassroots",
            "unit_type": u.unit_type,
            "parent_unit_code": u.district_code,
            "district_code": u.district_code,
            "district_name": u.district_name,
            "valid_from": u.valid_from.isoformat(),
            "valid_to": "",
        }
        for u in units
    ]
