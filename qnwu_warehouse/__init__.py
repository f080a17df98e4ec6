"""Reporting data warehouse of the Quảng Ninh provincial Women's Union.

The DAGs in dags/ call into this package: readers and contract (what a unit submission is),
ingest (landing -> raw), transform (dbt), quality (Great Expectations gate), publish (atomic
swap of the readers' file) and cli (the `qnwu` command).
"""
