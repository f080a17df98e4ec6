"""Synthetic but realistic unit submissions, calibrated to the 2023 article.

``generate(out_dir)`` writes one file per grassroots unit and month (XLSX, CSV or JSON, in the
layouts of :mod:`qnwu_warehouse.contract.files`), as the 177 cơ sở Hội of Quảng Ninh would send
them. For the real 177 units and the twelve months of 2023 the province totals computed from the
current version (latest ``submitted_at``) of every unit x month, flows summed over the year and
stocks taken at December, are exactly the figures of the article (``calibration.CALIBRATION_2023``).

Realism: urban districts (Hạ Long, Cẩm Phả, Uông Bí) are busier, activity follows the calendar
(Tết, 8/3, the June month of action for children, 20/10), about 8% of reports arrive after the
10th of the following month, a few units send a corrected version (``_v2``) of a report whose
first version had a wrong value, clubs and models are founded and dissolved during the year, and
every time is Vietnam time (+07:00).

Everything is planned from seeded ``random.Random`` streams (one per purpose and year, so a
subset of units or months is a slice of the full data set) and iterated in sorted order; the same
arguments give the same bytes. ``faults=True`` adds realistic bad files and ``expected_outcomes.csv``.

Command line: ``python -m qnwu_devtools.generator OUT_DIR [--year 2023] [--seed 20231] [--months 12]
[--units N] [--mix xlsx=0.4,csv=0.3,json=0.3] [--faults] [--synthetic-units-csv PATH]``.

The package: ``calibration`` (the article's figures and the constants), ``model`` (units, clubs,
cell plans), ``units`` (real and synthetic units), ``planning`` (every unit-month's values and
registers), ``faults`` (bad files), ``run`` (``generate``) and ``cli``.
"""

from qnwu_devtools.generator.calibration import CALIBRATION_YEAR, EXPECTED_OUTCOMES_FILE
from qnwu_devtools.generator.cli import main
from qnwu_devtools.generator.model import GenerationReport, apportion
from qnwu_devtools.generator.run import generate, month_window
from qnwu_devtools.generator.units import load_real_units, synthetic_unit_rows, synthetic_units

__all__ = [
    "CALIBRATION_YEAR",
    "EXPECTED_OUTCOMES_FILE",
    "GenerationReport",
    "apportion",
    "generate",
    "load_real_units",
    "main",
    "month_window",
    "synthetic_unit_rows",
    "synthetic_units",
]
