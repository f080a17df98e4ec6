"""Reference seeds for the unit hierarchy of the Quảng Ninh provincial Women's Union.

Every grassroots Women's Union unit (cơ sở Hội) corresponds to one commune-level
administrative unit, and every district-level union to one district, so the union's unit
hierarchy is derived from the official administrative-unit lists rather than typed in by
hand.  This module turns the four files in ``shared/data/admin_units`` into two dbt seeds:

``units.csv``
    One row per unit *version* (slowly changing dimension, type 2).  Reports are filed
    against the unit as it was on the reporting date, and codes are reused (06652 was
    Phường Hà Phong until 2025-06-30 and is Phường Hà Tu from 2025-07-01), so neither
    ``unit_code`` nor ``unit_name`` is a key: ``unit_version_id = f"{unit_code}@{valid_from}"``
    is.  ``valid_from`` is inclusive and ``valid_to`` exclusive; an empty ``valid_to`` means
    the version is still in force.

``unit_changes.csv``
    Which old unit became which new unit on which date, so that time series can be
    re-based onto today's units.

History model (dates are when the changes came into force, not the snapshot dates):

* 2023-01-01 — start of history.  The 2023-04-10 list (13 districts, 177 communes) is
  taken as in force from that date; nothing in the data says otherwise.
* 2024-11-01 — Resolution 1199/NQ-UBTVQH15 (177 -> 171 communes).  The changes are the
  official mapping ``quang_ninh_merges_2024-11-01.csv``: every unit after the change with the
  units it was formed from.  ``full`` rows become ``merge_full`` changes (four communes were
  absorbed by a neighbour that kept its code, and two new communes reuse the code of one of
  the two they were formed from); ``reclassified`` rows (a xã became a phường, same code and
  area) become ``rename``.  A unit that absorbed another, or a new commune on a reused code,
  starts a new version on 2024-11-01 even where its name is unchanged, because the unit
  behind the code is a larger one.  A version otherwise continues only if *every* attribute
  stored in its row is unchanged (name, type, district code and district name), so the
  communes of Đông Triều get a new version on 2024-11-01 even where only their district
  changed from "Thị xã Đông Triều" to "Thành phố Đông Triều"; the district itself is a
  ``rename``.  The 2025-03-01 list is the arrangement in force from 2024-11-01 (nothing
  changed between), and the mapping must account for it exactly: a code that disappears
  without a mapping row, or a mapping row that disagrees with either list, is an error.
* 2025-07-01 — the district level is abolished and the 171 communes become 54, attached
  directly to the province (``parent_unit_code = 22``, empty district columns).  Every
  district and pre-merger commune version ends on this date, including those whose code
  and name survive, because the unit behind the code is a different (merged) one.

Data notes:
    The 2025-07-01 mapping has no type column; types are taken from the name prefix, which
    introduces a type the earlier lists do not have, "Đặc khu" (special zone: Vân Đồn and
    Cô Tô).  Names keep the source spelling, which mixes the old and new tone-mark
    placement ("Phường Hải Hoà" in Móng Cái, "Xã Hải Hòa" in Cẩm Phả): both are NFC, yet
    they are different strings, so never match units by name.  Names are reused across
    codes too (Phường Đông Triều was 07072 until 2024; from 2025-07-01 it is 07093).

Output is deterministic (sorted rows, ``\\n`` line endings, UTF-8 without BOM, names in
NFC) so the committed seeds can be checked by rebuilding them byte for byte.

Usage::

    python -m qnwu_devtools.reference_units ADMIN_DIR SEEDS_DIR
"""

from __future__ import annotations

import argparse
import csv
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

HISTORY_START = "2023-01-01"
CHANGES_2024_11 = "2024-11-01"
MERGER_2025_07 = "2025-07-01"

FILE_2023 = "quang_ninh_communes_2023-04-10.csv"
FILE_2025_03 = "quang_ninh_communes_2025-03-01.csv"
FILE_MERGES_2024_11 = "quang_ninh_merges_2024-11-01.csv"
FILE_MERGES_2025_07 = "quang_ninh_merges_2025-07-01.csv"

UNITS_FILE = "units.csv"
CHANGES_FILE = "unit_changes.csv"

UNIT_COLUMNS = (
    "unit_version_id",
    "unit_code",
    "unit_name",
    "unit_level",
    "unit_type",
    "parent_unit_code",
    "district_code",
    "district_name",
    "valid_from",
    "valid_to",
)
CHANGE_COLUMNS = (
    "change_date",
    "old_unit_code",
    "old_unit_name",
    "new_unit_code",
    "new_unit_name",
    "change_type",
)

COMMUNE_LIST_COLUMNS = (
    "province_code",
    "province_name",
    "district_code",
    "district_name",
    "district_type",
    "commune_code",
    "commune_name",
    "commune_type",
)
MERGE_COLUMNS = ("new_commune_code", "new_commune_name", "old_commune_code", "old_commune_name", "merge_type")

# The 2025-07-01 mapping has no type column, so the type is read from the name prefix.
# Longest first so that "Thị trấn" is not mistaken for something shorter.
_NAME_TYPE_PREFIXES = ("Thành phố", "Thị trấn", "Đặc khu", "Thị xã", "Phường", "Huyện", "Tỉnh", "Xã")

_LEVEL_ORDER = {"province": 0, "district": 1, "grassroots": 2}
_MERGE_TYPES = {"full": "merge_full", "partial": "merge_partial"}
_MERGE_TYPES_2024_11 = {"full": "merge_full", "reclassified": "rename"}


def nfc(text: str) -> str:
    """Return ``text`` in NFC, trimmed.

    Vietnamese can be encoded with precomposed or combining diacritics; two spellings of
    the same name would otherwise never join or deduplicate.
    """
    return unicodedata.normalize("NFC", text.strip())


def type_from_name(name: str) -> str:
    """Return the Vietnamese unit type that prefixes ``name`` (e.g. "Phường").

    Raises ``ValueError`` rather than guessing, so that a new kind of unit (such as the
    "Đặc khu" special zones created on 2025-07-01) is noticed instead of mislabelled.
    """
    for prefix in _NAME_TYPE_PREFIXES:
        if name.startswith(prefix + " "):
            return prefix
    raise ValueError(f"cannot derive the unit type from the name {name!r}")


@dataclass(frozen=True)
class Commune:
    """One commune-level unit as listed in one snapshot."""

    code: str
    name: str
    type: str
    district_code: str
    district_name: str
    district_type: str


def _read_csv(path: Path, expected_columns: Sequence[str]) -> list[dict[str, str]]:
    """Read a CSV into NFC-normalised dicts, failing loudly if its header is not as expected.

    ``utf-8-sig`` and ``newline=""`` accept a BOM and CRLF line endings (the source files
    use CRLF), so the output does not depend on how the inputs happen to be encoded.
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != tuple(expected_columns):
            raise ValueError(f"{path}: expected columns {list(expected_columns)}, got {reader.fieldnames}")
        return [{key: nfc(value or "") for key, value in row.items()} for row in reader]


def _read_communes(path: Path) -> tuple[tuple[str, str], dict[str, Commune]]:
    """Return ``((province_code, province_name), communes by code)`` from a commune list."""
    rows = _read_csv(path, COMMUNE_LIST_COLUMNS)
    provinces = {(row["province_code"], row["province_name"]) for row in rows}
    if len(provinces) != 1:
        raise ValueError(f"{path}: expected exactly one province, got {sorted(provinces)}")
    communes: dict[str, Commune] = {}
    districts: dict[str, tuple[str, str]] = {}
    for row in rows:
        code = row["commune_code"]
        if code in communes:
            raise ValueError(f"{path}: duplicate commune code {code}")
        district = (row["district_name"], row["district_type"])
        if districts.setdefault(row["district_code"], district) != district:
            raise ValueError(f"{path}: district {row['district_code']} has more than one name")
        communes[code] = Commune(
            code=code,
            name=row["commune_name"],
            type=row["commune_type"],
            district_code=row["district_code"],
            district_name=row["district_name"],
            district_type=row["district_type"],
        )
    return provinces.pop(), communes


def _districts(communes: Iterable[Commune]) -> dict[str, tuple[str, str]]:
    """Return ``{district_code: (district_name, district_type)}`` for the given communes."""
    return {c.district_code: (c.district_name, c.district_type) for c in communes}


def _version(
    code: str,
    name: str,
    level: str,
    unit_type: str,
    parent: str,
    district_code: str,
    district_name: str,
    valid_from: str,
    valid_to: str,
) -> dict[str, str]:
    """Build one ``units.csv`` row; the version id is derived here so it is never inconsistent."""
    return {
        "unit_version_id": f"{code}@{valid_from}",
        "unit_code": code,
        "unit_name": name,
        "unit_level": level,
        "unit_type": unit_type,
        "parent_unit_code": parent,
        "district_code": district_code,
        "district_name": district_name,
        "valid_from": valid_from,
        "valid_to": valid_to,
    }


def _change(date: str, old_code: str, old_name: str, new_code: str, new_name: str, kind: str) -> dict[str, str]:
    """Build one ``unit_changes.csv`` row."""
    return {
        "change_date": date,
        "old_unit_code": old_code,
        "old_unit_name": old_name,
        "new_unit_code": new_code,
        "new_unit_name": new_name,
        "change_type": kind,
    }


def _history(
    before: dict[str, tuple[str, ...]],
    after: dict[str, tuple[str, ...]],
    reformed: frozenset[str] = frozenset(),
) -> dict[str, list[tuple[str, str, tuple[str, ...]]]]:
    """Split units into versions across the 2024-11-01 changes.

    ``before``/``after`` map a code to the attributes stored in its row; ``reformed`` are the
    codes behind which a different unit stands from 2024-11-01 (it absorbed another, or is a
    new commune on a reused code).  Returns, per code, ``(valid_from, valid_to, attributes)``
    versions: identical attributes of an unreformed unit continue in one version up to
    2025-07-01; anything else ends on 2024-11-01 and/or starts then.
    """
    versions: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {}
    for code in sorted(before.keys() | after.keys()):
        old, new = before.get(code), after.get(code)
        if old is not None and old == new and code not in reformed:
            versions[code] = [(HISTORY_START, MERGER_2025_07, old)]
            continue
        versions[code] = []
        if old is not None:
            versions[code].append((HISTORY_START, CHANGES_2024_11, old))
        if new is not None:
            versions[code].append((CHANGES_2024_11, MERGER_2025_07, new))
    return versions


def _changes_2024_11(
    mapping: list[dict[str, str]],
    communes_2023: dict[str, Commune],
    communes_2025: dict[str, Commune],
    districts_2023: dict[str, tuple[str, str]],
    districts_2025: dict[str, tuple[str, str]],
) -> list[dict[str, str]]:
    """The 2024-11-01 changes: the official mapping, checked against both lists, and the
    district renames read from the lists (see the module docstring)."""
    date = CHANGES_2024_11
    changes = [
        _change(date, code, districts_2023[code][0], code, districts_2025[code][0], "rename")
        for code in sorted(districts_2023.keys() & districts_2025.keys())
        if districts_2023[code] != districts_2025[code]
    ]
    if districts_2023.keys() != districts_2025.keys():
        raise ValueError(
            "the district codes differ between the 2023 and 2025-03-01 lists: the 2024-11-01 "
            "mapping has no district rows, so add them before rebuilding the seeds"
        )
    for row in mapping:
        old, new = communes_2023.get(row["old_commune_code"]), communes_2025.get(row["new_commune_code"])
        if old is None or old.name != row["old_commune_name"]:
            raise ValueError(f"2024-11-01 mapping row does not match the 2023 list: {row}")
        if new is None or new.name != row["new_commune_name"]:
            raise ValueError(f"2024-11-01 mapping row does not match the 2025-03-01 list: {row}")
        if row["merge_type"] not in _MERGE_TYPES_2024_11:
            raise ValueError(f"unknown merge_type in the 2024-11-01 mapping: {row}")
        if old.district_code != new.district_code:
            raise ValueError(f"2024-11-01 mapping row moves a commune to another district: {row}")
        changes.append(_change(date, old.code, old.name, new.code, new.name, _MERGE_TYPES_2024_11[row["merge_type"]]))
    mapped_old = {row["old_commune_code"] for row in mapping}
    mapped_new = {row["new_commune_code"] for row in mapping}
    unaccounted = sorted((communes_2023.keys() - communes_2025.keys()) - mapped_old)
    if unaccounted:
        raise ValueError(f"communes gone after 2024-11-01 without a row in the mapping: {unaccounted}")
    unexplained = sorted((communes_2025.keys() - communes_2023.keys()) - mapped_new)
    if unexplained:
        raise ValueError(f"communes new after 2024-11-01 without a row in the mapping: {unexplained}")
    for code in sorted(communes_2023.keys() & communes_2025.keys() - mapped_new):
        old, new = communes_2023[code], communes_2025[code]
        if old.name != new.name or old.type != new.type or old.district_code != new.district_code:
            raise ValueError(
                f"commune {code} changed on 2024-11-01 ({old.name} -> {new.name}) but the mapping has no row for it"
            )
    return changes


def _reformed_2024_11(mapping: list[dict[str, str]]) -> frozenset[str]:
    """Codes behind which a different unit stands from 2024-11-01: those formed from more than
    one old unit (an absorption, or a new commune on a reused code)."""
    sources: dict[str, set[str]] = {}
    for row in mapping:
        if row["merge_type"] == "full":
            sources.setdefault(row["new_commune_code"], set()).add(row["old_commune_code"])
    return frozenset(code for code, old in sources.items() if len(old) > 1)


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, str]]) -> None:
    """Write rows with ``\\n`` line endings and UTF-8 without BOM, for byte-stable seeds."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def build_unit_seeds(admin_dir: Path, seeds_dir: Path) -> dict[str, int]:
    """Write ``units.csv`` and ``unit_changes.csv`` into ``seeds_dir`` from ``admin_dir``.

    Returns the number of data rows written per file name.  Inconsistent inputs (a merge
    row naming a commune that is not in the 2025-03-01 list, a name that differs between
    the two files, a commune not covered by the mapping) raise ``ValueError`` instead of
    producing a hierarchy with holes.
    """
    admin_dir, seeds_dir = Path(admin_dir), Path(seeds_dir)
    (province_code, province_name), communes_2023 = _read_communes(admin_dir / FILE_2023)
    province_2025, communes_2025 = _read_communes(admin_dir / FILE_2025_03)
    if province_2025 != (province_code, province_name):
        raise ValueError(f"province differs between the lists: {province_code} vs {province_2025}")
    merges = _read_csv(admin_dir / FILE_MERGES_2025_07, MERGE_COLUMNS)
    mapping_2024 = _read_csv(admin_dir / FILE_MERGES_2024_11, MERGE_COLUMNS)

    for row in merges:
        old = communes_2025.get(row["old_commune_code"])
        if old is None or old.name != row["old_commune_name"]:
            raise ValueError(f"2025-07-01 merge row does not match the 2025-03-01 list: {row}")
        if row["merge_type"] not in _MERGE_TYPES:
            raise ValueError(f"unknown merge_type in {row}")
    uncovered = communes_2025.keys() - {row["old_commune_code"] for row in merges}
    if uncovered:
        raise ValueError(f"communes missing from the 2025-07-01 mapping: {sorted(uncovered)}")

    districts_2023, districts_2025 = _districts(communes_2023.values()), _districts(communes_2025.values())
    units: list[dict[str, str]] = [
        _version(
            province_code,
            province_name,
            "province",
            type_from_name(province_name),
            "",
            "",
            "",
            HISTORY_START,
            "",
        )
    ]

    district_history = _history(districts_2023, districts_2025)
    for code, versions in district_history.items():
        for valid_from, valid_to, (name, district_type) in versions:
            units.append(_version(code, name, "district", district_type, province_code, code, name, valid_from, valid_to))

    def commune_attrs(c: Commune) -> tuple[str, ...]:
        return (c.name, c.type, c.district_code, c.district_name)

    commune_history = _history(
        {code: commune_attrs(c) for code, c in communes_2023.items()},
        {code: commune_attrs(c) for code, c in communes_2025.items()},
        _reformed_2024_11(mapping_2024),
    )
    for code, versions in commune_history.items():
        for valid_from, valid_to, (name, commune_type, district_code, district_name) in versions:
            units.append(
                _version(
                    code,
                    name,
                    "grassroots",
                    commune_type,
                    district_code,
                    district_code,
                    district_name,
                    valid_from,
                    valid_to,
                )
            )

    new_units: dict[str, str] = {}
    for row in merges:
        if new_units.setdefault(row["new_commune_code"], row["new_commune_name"]) != row["new_commune_name"]:
            raise ValueError(f"new commune {row['new_commune_code']} has more than one name")
    for code, name in new_units.items():
        units.append(_version(code, name, "grassroots", type_from_name(name), province_code, "", "", MERGER_2025_07, ""))

    changes = _changes_2024_11(mapping_2024, communes_2023, communes_2025, districts_2023, districts_2025)
    changes.extend(
        _change(
            MERGER_2025_07,
            row["old_commune_code"],
            row["old_commune_name"],
            row["new_commune_code"],
            row["new_commune_name"],
            _MERGE_TYPES[row["merge_type"]],
        )
        for row in merges
    )

    units.sort(key=lambda r: (_LEVEL_ORDER[r["unit_level"]], r["unit_code"], r["valid_from"]))
    changes.sort(key=lambda r: (r["change_date"], r["new_unit_code"], r["old_unit_code"], r["change_type"]))
    ids = [r["unit_version_id"] for r in units]
    if len(ids) != len(set(ids)):
        raise ValueError("unit_version_id is not unique")

    seeds_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(seeds_dir / UNITS_FILE, UNIT_COLUMNS, units)
    _write_csv(seeds_dir / CHANGES_FILE, CHANGE_COLUMNS, changes)
    return {UNITS_FILE: len(units), CHANGES_FILE: len(changes)}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: rebuild the seeds and print the row counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("admin_dir", type=Path, help="directory with the admin_units CSVs")
    parser.add_argument("seeds_dir", type=Path, help="directory to write units.csv and unit_changes.csv into")
    args = parser.parse_args(argv)
    for file_name, count in build_unit_seeds(args.admin_dir, args.seeds_dir).items():
        print(f"{file_name}: {count} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
