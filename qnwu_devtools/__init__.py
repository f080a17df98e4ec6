"""Development tooling, not shipped in the Airflow image: the sample-data generator, the
benchmark, the seed builder for the unit hierarchy, and the raw-layer mirror for the dbt-on-
PostgreSQL tests."""
