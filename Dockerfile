# The image every Airflow service of docker-compose.yml runs: Airflow's own image with the
# project's locked dependencies, so containers run exactly the versions the tests passed with.
# The Data Docs' stylesheets and scripts, from npm at the versions package-lock.json pins: the
# pipeline serves them from the site itself (qnwu_warehouse/checks/data_docs.py).
FROM node:22-slim AS data-docs-assets
COPY assets/data_docs/package.json assets/data_docs/package-lock.json assets/data_docs/.npmrc /assets/
RUN cd /assets && npm ci --no-audit --no-fund --ignore-scripts

FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root requirements.lock pyproject.toml /opt/qnwu/
RUN pip install --no-cache-dir --no-deps -r /opt/qnwu/requirements.lock
COPY --chown=airflow:root qnwu_warehouse /opt/qnwu/qnwu_warehouse
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e /opt/qnwu
COPY --chown=airflow:root assets/data_docs/offline.yml /opt/qnwu/assets/data_docs/offline.yml
COPY --from=data-docs-assets --chown=airflow:root /assets/node_modules /opt/qnwu/assets/data_docs/node_modules
