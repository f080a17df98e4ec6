"""The Airflow Assets that link the DAGs: ingestion announces new raw data, and the publishing
DAG is scheduled on that announcement. Kept tiny so DAG files can import it at parse time."""

from __future__ import annotations

from airflow.sdk import Asset

# New accepted submissions landed in raw.* of the working warehouse.
RAW_SUBMISSIONS = Asset("qnwu://warehouse/raw/submissions", group="qnwu")
# A new version of published/warehouse.duckdb was swapped in for readers.
PUBLISHED_WAREHOUSE = Asset("qnwu://warehouse/published", group="qnwu")
