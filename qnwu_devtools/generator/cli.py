"""The command line: `qnwu generate OUT_DIR ...` and `python -m qnwu_devtools.generator`."""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from qnwu_devtools.generator.calibration import CALIBRATION_YEAR, DEFAULT_MIX, MAX_MONTHS, MAX_UNITS
from qnwu_devtools.generator.run import checked_mix, generate
from qnwu_devtools.reference_units import UNIT_COLUMNS  # the synthetic units' CSV has the seed's columns


# --- command line -------------------------------------------------------------------------------
def _parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        fmt, _, share = part.partition("=")
        try:
            mix[fmt.strip().lower()] = float(share)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--mix wants xlsx=0.4,csv=0.3,json=0.3, not {text!r}") from None
    try:
        return checked_mix(mix)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _bounded(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, not {text!r}")
        return value

    return parse


def build_parser(prog: str = "qnwu generate") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Write synthetic monthly submissions of the grassroots units (calibrated to the 2023 article "
            "for the real 177 units and 12 months of 2023)."
        ),
    )
    parser.add_argument("out_dir", type=Path, help="folder to write the submission files into")
    parser.add_argument(
        "--year", type=_bounded(2023, 2100), default=CALIBRATION_YEAR, help="first year (January) of the data (default 2023)"
    )
    parser.add_argument("--seed", type=int, default=20231, help="random seed (default 20231)")
    parser.add_argument(
        "--months",
        type=_bounded(1, MAX_MONTHS),
        default=12,
        help=f"number of months from January of --year (1..{MAX_MONTHS}, default 12)",
    )
    parser.add_argument(
        "--units",
        type=_bounded(1, MAX_UNITS),
        default=None,
        help=f"number of units (default: the real ones; beyond them synthetic 9xxxx units, up to {MAX_UNITS})",
    )
    parser.add_argument(
        "--mix", type=_parse_mix, default=dict(DEFAULT_MIX), help="share of each format, e.g. xlsx=0.4,csv=0.3,json=0.3"
    )
    parser.add_argument("--faults", action="store_true", help="also write realistic bad files and expected_outcomes.csv")
    parser.add_argument(
        "--synthetic-units-csv",
        type=Path,
        default=None,
        help="write the synthetic unit rows (seeds/units.csv layout) to this file",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    report = generate(
        args.out_dir,
        year=args.year,
        seed=args.seed,
        months=args.months,
        units=args.units,
        formats=args.mix,
        faults=args.faults,
    )
    if args.synthetic_units_csv is not None:
        args.synthetic_units_csv.parent.mkdir(parents=True, exist_ok=True)
        with args.synthetic_units_csv.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=UNIT_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(report.synthetic_units)
    print(f"{report.summary()} in {time.perf_counter() - started:.1f} s")
    return 0
