# The image every Airflow service of docker-compose.yml runs: Airflow's own image with the
# project's locked dependencies, so containers run exactly the versions the tests passed with.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root requirements.lock pyproject.toml /opt/qnwu/
RUN pip install --no-cache-dir --no-deps -r /opt/qnwu/requirements.lock
COPY --chown=airflow:root qnwu_warehouse /opt/qnwu/qnwu_warehouse
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e /opt/qnwu
