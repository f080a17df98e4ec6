"""Transform: dbt over the working warehouse (dbt_runner), and dbt's model graph as Airflow
shows it (graph)."""
