"""dbt is given the seeds by a path it cannot turn against them."""

from __future__ import annotations

import shutil

import pytest
from support import using_data_dir

from qnwu_warehouse.settings import SEEDS_DIR
from qnwu_warehouse.transform import dbt_runner

pytestmark = pytest.mark.slow


def test_seeds_outside_the_repository_are_loaded_and_left_byte_for_byte(tmp_path):
    # dbt writes each seed's compiled SQL to target/run/<project>/<seed path>; an absolute seed path
    # would make that the seed file itself. The benchmark's seeds (real units plus synthetic ones)
    # live outside the repository like this.
    seeds = tmp_path / "reference"
    shutil.copytree(SEEDS_DIR, seeds)
    before = {path.name: path.read_bytes() for path in seeds.glob("*.csv")}
    (tmp_path / "data").mkdir()
    with using_data_dir(tmp_path / "data", QNWU_SEEDS_DIR=str(seeds)) as settings:
        output = dbt_runner.run_dbt(settings, "seed")
    assert f"PASS={len(before)}" in output
    assert {path.name: path.read_bytes() for path in seeds.glob("*.csv")} == before
