# The two commands of the README. Both set everything up first (bin/setup is idempotent).
.PHONY: setup run test webui lint

setup:
	@bin/setup

## Run the whole pipeline through Airflow over the bundled sample submissions.
run: setup
	@.venv/bin/qnwu run --demo

## Run the test suite.
test: setup
	@bin/test

## Start Airflow locally (UI on http://localhost:8080) with the DAGs loaded.
webui: setup
	@.venv/bin/qnwu webui

lint: setup
	@bin/lint
