"""Orchestration: the stages as the DAG tasks call them (pipeline), the Assets that link the DAGs
(assets), running them through Airflow itself (airflow_runner), and the Celery deployment
(deployment)."""
