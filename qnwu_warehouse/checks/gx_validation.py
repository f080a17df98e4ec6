"""Great Expectations, the gate's engine of record: its context, each suite's validation, and the
Data Docs, run in a thread of the gate beside the gate's work in DuckDB.

Before it validates anything, GX costs 1.3 to 1.7 s of CPU to import, and every suite is then
GX's own Python. The gate's other work is DuckDB's, which lets go of the GIL while a query runs:
so GX is imported in a thread as soon as the gate has its connection, and validates each suite's frame as soon
as the gate hands it over, while the gate reads the next suite's rows (quality.run_gate). Verdicts
come back in the order the suites were handed over.

Measured on a national year (docs/benchmarks.md): a worker process of its own for GX was slower,
not faster (the whole gate in 6.4 and 6.5 s, against 4.5 to 5.2 s in a thread): a fresh
interpreter imports pandas and GX again (2.2 s of CPU), and on two cores that CPU is taken from
DuckDB's threads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import importlib.util
import json
import os
import queue
import sys
import threading
import time
import types
from dataclasses import dataclass
from pathlib import Path

from qnwu_warehouse.checks import data_docs

# GX would otherwise try to send usage analytics over a network these machines do not have.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

# Modules GX imports at its own import for what this project's suites do not use: scipy.stats for
# KL divergence and Kolmogorov-Smirnov tests (0.5 s of GX's 1.8 s import on an idle machine), altair
# for the KL divergence expectation's charts (0.3 s), jsonschema for the JSON-schema expectation
# (0.11 s), mistune for markdown in Data Docs pages (0.03 s). Each is loaded on first use instead,
# so an expectation that needs it still gets it whole. (scipy's own package still runs: finding
# scipy.stats imports it, and GX's `from scipy import stats` needs it loaded to find the stand-in.)
DEFERRED_GX_IMPORTS = ("scipy.stats", "altair", "jsonschema", "mistune")

# The modules of GX's data sources of kinds the gate never configures. Its project has one pandas
# data source with one dataframe asset (DATA_SOURCE, FRAME_ASSET), yet GX's package imports every
# kind of data source at its own import, each a set of pydantic models built on the spot: Spark's
# (pyspark is not installed) and the SQL databases' (SQLAlchemy is hidden while GX is imported, see
# import_great_expectations) took 1.0 of GX's 3.7 s import on a slow machine. They are placeholders in
# a process that imports GX through this module (_DataSourceNotLoaded). Only GX's data source package
# imports them, each under a name that nothing else reads.
_FLUENT = "great_expectations.datasource.fluent."
UNUSED_GX_DATA_SOURCES = tuple(
    _FLUENT + name
    for name in (
        "spark_datasource",
        "spark_file_path_datasource",
        "spark_filesystem_datasource",
        "spark_dbfs_datasource",
        "spark_s3_datasource",
        "spark_google_cloud_storage_datasource",
        "spark_azure_blob_storage_datasource",
        "sql_datasource",
        "alloy_datasource",
        "aurora_datasource",
        "bigquery_datasource",
        "citus_datasource",
        "databricks_sql_datasource",
        "fabric",
        "fabric_datasource",
        "neon_datasource",
        "postgres_datasource",
        "redshift_datasource",
        "snowflake_datasource",
        "sql_server_datasource",
        "sqlite_datasource",
        # pandas reading files itself (a folder, DBFS, S3, GCS, Azure): the gate hands GX frames
        "pandas_file_path_datasource",
        "pandas_filesystem_datasource",
        "pandas_dbfs_datasource",
        "pandas_s3_datasource",
        "pandas_google_cloud_storage_datasource",
        "pandas_azure_blob_storage_datasource",
    )
)

# GX's core expectations: one module per expectation, each a pydantic model built on the spot,
# with its renderers registered, and GX's package imports all 60 at its own import. The suites use
# six. Each module runs when its expectation is first asked for (_defer_core_expectations), by name
# (`gx.expectations.ExpectColumnMaxToBeBetween`, `from great_expectations.expectations import ...`)
# or by type, as GX finds the class of a stored suite's expectation (its registry's lookup), so any
# expectation still works whole.
CORE_EXPECTATIONS = "great_expectations.expectations.core"

# Every suite's frame is validated through one dataframe asset and its one batch definition. GX
# keeps data sources, assets and batch definitions in great_expectations.yml and rewrites the whole
# file on each one added: an asset and a batch definition per suite were 44 rewrites on a new data
# directory's first gate (0.5 s of a national year's, more than validating the suites). The suite's
# name, not the asset's, is what the results and the Data Docs are filed under.
DATA_SOURCE = "working_warehouse"
FRAME_ASSET = "suite_frame"
FRAME_BATCH = "whole_frame"


@dataclass
class SuiteFrame:
    """What GX validates for one suite: its expectations (type, kwargs, severity) on `frame`.
    `complete`: list every unexpected value (a witness frame, whose unexpected values the gate
    counts again on the real rows), else a summary with a few of them."""

    name: str
    expectations: list[tuple[str, dict, str]]
    frame: object  # a pandas DataFrame
    complete: bool
    run_id: str


@dataclass
class Verdict:
    """GX's result for a suite: one dict per expectation (type, kwargs, meta, success, result)."""

    name: str
    items: list[dict]
    seconds: float


@dataclass
class Timings:
    """Where GX's time went, in its thread."""

    import_and_context: float = 0.0
    validation: float = 0.0
    data_docs: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {name: round(value, 2) for name, value in dataclasses.asdict(self).items()}


def data_docs_site(gx_dir: Path) -> Path:
    return gx_dir / "gx" / "uncommitted" / "data_docs" / "local_site"


class _ModuleOnFirstUse(types.ModuleType):
    """Stands in sys.modules for a module until one of its attributes is read, then imports it and
    takes on its attributes. importlib.util.LazyLoader was used before, but its module loads on any
    attribute read, and `import altair as alt` reads the module's __spec__ (altair was loaded
    anyway); this one's __spec__ is its own (None), so only a real use loads it."""

    def __getattr__(self, attribute: str):
        name = self.__name__
        with _loading:  # reentrant: the module's own import may read it through its parent
            if sys.modules.get(name) is self:
                del sys.modules[name]
                parent, _, child = name.rpartition(".")
                if parent and getattr(sys.modules[parent], child, None) is self:
                    delattr(sys.modules[parent], child)  # the import sets the real one there
                self.__dict__.update(importlib.import_module(name).__dict__)  # later reads find them here
        return getattr(sys.modules[name], attribute)


_loading = threading.RLock()


class _DataSourceNotLoaded(types.ModuleType):
    """Stands in sys.modules for a module of UNUSED_GX_DATA_SOURCES, which is never run. Each name
    imported from it is a class of its own that cannot be made: GX registers a kind of data source
    when its module defines it, so these kinds are unknown to the context, and GX's own error says so
    if a project names one."""

    def __getattr__(self, attribute: str):
        if attribute.startswith("__"):  # __path__, __file__: what the import system asks of a real module
            raise AttributeError(attribute)
        module = self.__name__

        def refuse(*args, **kwargs):
            raise RuntimeError(
                f"{module}.{attribute} is not loaded: the quality gate's Great Expectations validates pandas "
                "frames only (qnwu_warehouse/checks/gx_validation.py, UNUSED_GX_DATA_SOURCES)"
            )

        placeholder = type(attribute, (), {"__init__": refuse, "__module__": module})
        setattr(self, attribute, placeholder)
        return placeholder


class _ExpectationNotYetLoaded(types.ModuleType):
    """Stands in sys.modules for a module of GX's core expectations while GX's package is imported,
    and notes each name GX's package imports from it (bound to _NOT_YET, then taken away again)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.imported_names: list[str] = []

    def __getattr__(self, attribute: str):
        if attribute.startswith("__"):  # __path__, __file__: what the import system asks of a real module
            raise AttributeError(attribute)
        self.imported_names.append(attribute)
        return _NOT_YET


_NOT_YET = object()
# {class name: its module}, for the core expectations whose modules have not run yet in this
# process. A module is named after its expectation's type (expect_column_max_to_be_between).
_deferred_expectation_classes: dict[str, str] = {}


def _core_expectation_modules() -> list[str]:
    """The modules of GX's core expectations, found on disk without importing GX."""
    spec = importlib.util.find_spec("great_expectations")  # a top-level package: found, not run
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(next(iter(spec.submodule_search_locations)), *CORE_EXPECTATIONS.split(".")[1:])
    return sorted(f"{CORE_EXPECTATIONS}.{path.stem}" for path in folder.glob("expect_*.py"))


def _load_core_expectation(module_name: str):
    """Run a deferred core expectation's module (its class registers itself with GX), and give its
    classes to the two packages that export them. SQLAlchemy stays hidden while it runs, as during
    GX's own import: expect_column_values_to_be_in_set imports it for nothing it uses, and loading
    it for real (80 modules) took 0.18 s of the GX thread's CPU in a national year's gate."""
    with _loading, _sqlalchemy_hidden():
        module = importlib.import_module(module_name)
        for name in [name for name, owner in _deferred_expectation_classes.items() if owner == module_name]:
            del _deferred_expectation_classes[name]
            for package in (CORE_EXPECTATIONS, CORE_EXPECTATIONS.rpartition(".")[0]):
                setattr(sys.modules[package], name, getattr(module, name))
        return module


def _package_getattr(package: str):
    """A package's module-level __getattr__ (PEP 562): a deferred expectation's class, loaded on the spot."""

    def __getattr__(name: str):
        if name in _deferred_expectation_classes:
            return getattr(_load_core_expectation(_deferred_expectation_classes[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


class _RegistryLoadingOnLookup(dict):
    """GX's registry of expectations by type: looking up a deferred type loads its module first."""

    def get(self, key, default=None):
        if (
            key not in self
            and isinstance(key, str)
            and f"{CORE_EXPECTATIONS}.{key}" in _deferred_expectation_classes.values()
        ):
            _load_core_expectation(f"{CORE_EXPECTATIONS}.{key}")
        return super().get(key, default)


def _defer_core_expectations() -> list[_ExpectationNotYetLoaded]:
    """Put a stand-in in sys.modules for each core expectation's module, before GX is imported."""
    stand_ins = [_ExpectationNotYetLoaded(name) for name in _core_expectation_modules() if name not in sys.modules]
    for stand_in in stand_ins:
        sys.modules[stand_in.__name__] = stand_in
    return stand_ins


def _remove_stand_ins(stand_ins: list[_ExpectationNotYetLoaded]) -> None:
    """Take the stand-ins out of sys.modules: a later import of one of those modules runs it."""
    for stand_in in stand_ins:
        if sys.modules.get(stand_in.__name__) is stand_in:
            del sys.modules[stand_in.__name__]


def _load_core_expectations_on_first_use(stand_ins: list[_ExpectationNotYetLoaded]) -> None:
    """Once GX is imported: take the stand-ins away, take the names bound to _NOT_YET out of the
    packages, and have the packages and the registry load a deferred expectation when it is asked for."""
    from great_expectations.expectations import registry

    _remove_stand_ins(stand_ins)
    for stand_in in stand_ins:
        for name in stand_in.imported_names:
            _deferred_expectation_classes[name] = stand_in.__name__
    for package_name in (CORE_EXPECTATIONS, CORE_EXPECTATIONS.rpartition(".")[0]):
        package = sys.modules[package_name]
        for name in [name for name, value in vars(package).items() if value is _NOT_YET]:
            delattr(package, name)
        package.__getattr__ = _package_getattr(package_name)
    if not isinstance(registry._registered_expectations, _RegistryLoadingOnLookup):
        registry._registered_expectations = _RegistryLoadingOnLookup(registry._registered_expectations)


def _defer_import(name: str) -> None:
    """Put a stand-in for `name` in sys.modules (_ModuleOnFirstUse): its code runs on the first read
    of one of its attributes, not at `import`. Nothing happens if it is loaded already or missing."""
    try:
        if name in sys.modules or importlib.util.find_spec(name) is None:  # find_spec imports the parent
            return
    except ModuleNotFoundError:  # its parent package is not installed: GX goes without it as it would
        return
    stand_in = _ModuleOnFirstUse(name)
    sys.modules[name] = stand_in
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, stand_in)


def import_great_expectations() -> None:
    """Import Great Expectations as it is installed without its SQL extras, without running the
    modules of DEFERRED_GX_IMPORTS, without the data sources of UNUSED_GX_DATA_SOURCES, and with each
    core expectation's module run when that expectation is first asked for (CORE_EXPECTATIONS).
    SQLAlchemy is one of GX's optional dependencies (its extras, such as `sql-server`); this
    virtualenv has it for Airflow, and GX then imports it and builds its
    SQL layer: 0.2 s of its 1.4 s import. The gate validates pandas frames (GX's SQL data source
    fails on DuckDB), so while GX is imported, and while a deferred expectation's module runs, an
    `import sqlalchemy` fails, as GX's own modules expect when it is not installed
    (_sqlalchemy_hidden); a process that has SQLAlchemy loaded already (an Airflow task) keeps it
    as it is."""
    if "great_expectations" in sys.modules:
        return
    for name in DEFERRED_GX_IMPORTS:
        _defer_import(name)
    for name in UNUSED_GX_DATA_SOURCES:
        sys.modules.setdefault(name, _DataSourceNotLoaded(name))
    stand_ins = _defer_core_expectations()
    try:
        with _sqlalchemy_hidden():
            importlib.import_module("great_expectations")
    except BaseException:
        _remove_stand_ins(stand_ins)  # nothing half-deferred is left for a later import to find
        raise
    _load_core_expectations_on_first_use(stand_ins)


@contextlib.contextmanager
def _sqlalchemy_hidden():
    """`import sqlalchemy` fails within the block, unless this process has it loaded already (an
    Airflow task): GX's modules then go on as they do where SQLAlchemy is not installed."""
    hidden = "sqlalchemy" not in sys.modules
    if hidden:
        sys.modules["sqlalchemy"] = None  # the import system's way to say "not importable"
    try:
        yield
    finally:
        if hidden and "sqlalchemy" in sys.modules and sys.modules["sqlalchemy"] is None:
            del sys.modules["sqlalchemy"]  # importable again for anything else in this process


def _read_configuration_once(context) -> None:
    """GX reads the values a context variable may refer to (``$NAME``: the environment and
    uncommitted/config_variables.yml) again on every read of a variable: it opens and parses that
    YAML file each time, 277 times in a national year's gate (0.5 of the 6.0 s of GX's thread under
    cProfile). They are read once per session here: nothing changes them while a gate runs."""
    provider = context.config_provider
    values = provider.get_values()
    provider.get_values = lambda: dict(values)  # the instance's own, ahead of its class's method


def _share_compiled_templates() -> None:
    """Give every GX page view's Jinja environment one in-memory bytecode cache, once per process.
    GX builds a new Jinja environment for each page it renders (great_expectations/render/view/
    view.py), and each environment compiled the same templates again: 58 compilations for 45 pages
    of a national year's Data Docs."""
    import jinja2
    from great_expectations.render.view.view import DefaultJinjaView

    built = DefaultJinjaView.__init__
    if getattr(built, "shares_compiled_templates", False):
        return

    class InMemory(jinja2.BytecodeCache):
        def __init__(self):
            self.codes: dict[str, bytes] = {}

        def load_bytecode(self, bucket) -> None:
            if bucket.key in self.codes:
                bucket.bytecode_from_string(self.codes[bucket.key])

        def dump_bytecode(self, bucket) -> None:
            self.codes[bucket.key] = bucket.bytecode_to_string()

    cache = InMemory()

    def __init__(view, *args, **kwargs):
        built(view, *args, **kwargs)
        view.env.bytecode_cache = cache

    __init__.shares_compiled_templates = True
    DefaultJinjaView.__init__ = __init__


def _build_configuration_once_per_kwargs_read() -> None:
    """Build an expectation's configuration once per `_get_runtime_kwargs` call, once per process.
    GX's Expectation.configuration is a property that builds a new ExpectationConfiguration from the
    expectation's fields (pydantic's dict(), a regex on the class name) on every read, and
    _get_runtime_kwargs reads it once per domain, success and runtime key: about ten builds per
    call, 5,521 in a national year's gate, 0.95 of the 4.5 s GX's validation and Data Docs took
    under cProfile. Within the call (GX's own code, which only reads the configuration) the
    property now returns the configuration built when the call began; elsewhere it builds anew,
    as before."""
    from great_expectations.expectations.expectation import Expectation

    built_kwargs = Expectation._get_runtime_kwargs
    if getattr(built_kwargs, "builds_configuration_once", False):
        return
    build = Expectation.__dict__["configuration"].fget
    held = threading.local()  # (expectation, its configuration) during a call in this thread

    def configuration(expectation):
        during = getattr(held, "call", None)
        return during[1] if during is not None and during[0] is expectation else build(expectation)

    def _get_runtime_kwargs(expectation, runtime_configuration=None):
        outer = getattr(held, "call", None)
        held.call = (expectation, build(expectation))
        try:
            return built_kwargs(expectation, runtime_configuration)
        finally:
            held.call = outer

    _get_runtime_kwargs.builds_configuration_once = True
    Expectation.configuration = property(configuration, doc=build.__doc__)
    Expectation._get_runtime_kwargs = _get_runtime_kwargs


def _expectation_class(snake_name: str):
    import great_expectations as gx

    camel = "".join(part.capitalize() for part in snake_name.split("_"))
    try:
        return getattr(gx.expectations, camel)
    except AttributeError:
        raise ValueError(f"expectations/: unknown Great Expectations type {snake_name!r}") from None


class GxSession:
    """GX's file-backed context under the data directory (suites, results and Data Docs persist, so
    the HTML site shows every run's results), and the suites validated in this process."""

    def __init__(self, gx_dir: Path):
        started = time.perf_counter()
        import_great_expectations()
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        # GX labels each batch with a fingerprint that hashes every value of a DataFrame under 1 GB.
        # Nothing here reads that label, and on a national year the gate took 47.5 s with it and
        # 34.5 s without (docs/benchmarks.md): fingerprint nothing.
        pandas_execution_engine.HASH_THRESHOLD = 0
        self.gx_dir = gx_dir
        self.context = gx.get_context(mode="file", project_root_dir=str(gx_dir))
        _read_configuration_once(self.context)
        _share_compiled_templates()
        _build_configuration_once_per_kwargs_read()
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.batch_definition = self._frame_batch_definition()
        self.saved_suites: list[str] = []
        self.timings = Timings(import_and_context=time.perf_counter() - started)

    def _frame_batch_definition(self):
        """The batch definition every suite's frame is validated through, added once per data directory."""
        try:
            source = self.context.data_sources.get(DATA_SOURCE)
        except KeyError:
            source = self.context.data_sources.add_pandas(DATA_SOURCE)
        try:
            asset = source.get_asset(FRAME_ASSET)
        except LookupError:
            asset = source.add_dataframe_asset(name=FRAME_ASSET)
        try:
            return asset.get_batch_definition(FRAME_BATCH)
        except KeyError:
            return asset.add_batch_definition_whole_dataframe(FRAME_BATCH)

    def _stored_validation(self, name: str, expectations: list[tuple[str, dict, str]]):
        """The suite's GX validation definition: the one stored in the context is reused, and a new
        one stored only when its expectations (type, kwargs, severity) or the batch definition it
        validates changed since the last run. Every save rewrites the suite's or the definition's
        file, and re-saving all 22 suites on each run cost more than validating them (7 s of a 21 s
        gate on 40 units x 12 months)."""
        import great_expectations as gx
        from great_expectations.exceptions import DataContextError

        fingerprint = hashlib.sha256(
            json.dumps([FRAME_ASSET, FRAME_BATCH, expectations], sort_keys=True, default=str).encode()
        ).hexdigest()
        try:
            stored = self.context.validation_definitions.get(name)
        except DataContextError:
            stored = None
        if stored is not None and (stored.suite.meta or {}).get("qnwu_fingerprint") == fingerprint:
            return stored
        # the expectations are given to the suite whole: each add_expectation() asks the context's
        # store whether the suite is saved yet, and compares the expectation with every other one
        suite = gx.ExpectationSuite(
            name=name,
            expectations=[
                _expectation_class(expectation_type)(**kwargs, meta={"severity": severity})
                for expectation_type, kwargs, severity in expectations
            ],
            meta={"qnwu_fingerprint": fingerprint},
        )
        suite = self.context.suites.add_or_update(suite)
        self.saved_suites.append(name)
        validation = gx.ValidationDefinition(name=name, data=self.batch_definition, suite=suite)
        # validation_definitions.add_or_update() would save the suite a second time and the batch
        # definition again, which rewrites all of great_expectations.yml: on a new data directory
        # that was once per suite
        if stored is None:
            return self.context.validation_definitions.add(validation)
        if stored.data.id == self.batch_definition.id and stored.suite.id == suite.id:
            validation.id = stored.id  # what is stored names this suite and batch definition already
            return validation
        return self.context.validation_definitions.add_or_update(validation)

    def validate(self, suite: SuiteFrame) -> Verdict:
        import great_expectations as gx

        started = time.perf_counter()
        validation = self._stored_validation(suite.name, suite.expectations)
        result = validation.run(
            batch_parameters={"dataframe": suite.frame},
            result_format={"result_format": "COMPLETE" if suite.complete else "SUMMARY", "partial_unexpected_count": 5},
            run_id=gx.RunIdentifier(run_name=suite.run_id),
        )
        items = [
            {
                "type": item.expectation_config.type,
                "kwargs": dict(item.expectation_config.kwargs),
                "meta": dict(item.expectation_config.meta or {}),
                "success": bool(item.success),
                "result": dict(item.result or {}),
            }
            for item in result.results
        ]
        seconds = time.perf_counter() - started
        self.timings.validation += seconds
        return Verdict(suite.name, items, seconds)

    def data_docs(self, run_id: str) -> dict[str, object]:
        """Render this run's validation results and the suites saved by it, and the index of every
        run, then serve their assets from the site itself (data_docs.py; its summary is returned).
        Rendering all stored
        results again on each run made the Data Docs the part of the gate that grew with history
        (3.4 s after two runs on 40 units x 12 months, and more every run)."""
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        started = time.perf_counter()
        written_from = time.time() - 1  # the pages of this build (file times are not exact)
        this_run = [key for key in self.context.validation_results_store.list_keys() if key.run_id.run_name == run_id]
        self.context.build_data_docs(
            resource_identifiers=[*this_run, *(ExpectationSuiteIdentifier(name=name) for name in self.saved_suites)]
        )
        offline = data_docs.make_offline(data_docs_site(self.gx_dir), changed_since=written_from)
        self.timings.data_docs += time.perf_counter() - started
        return dataclasses.asdict(offline)


class ValidatingInThread:
    """GX in a thread of this process: imported at once, then validating each suite as it comes.
    An error of GX's (a suite it rejects, a context it cannot open) is raised in the gate's thread,
    by the call that waits for the answer."""

    def __init__(self, gx_dir: Path):
        self._gx_dir = gx_dir
        self._requests: queue.Queue = queue.Queue()
        self._answers: queue.Queue = queue.Queue()
        self._session: GxSession | None = None
        self._thread = threading.Thread(target=self._work, name="great-expectations", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        failure: BaseException | None = None
        try:
            self._session = GxSession(self._gx_dir)
        except BaseException as problem:  # answered to every request, raised in the gate's thread
            failure = problem
        while (request := self._requests.get()) is not None:
            kind, argument = request
            if failure is not None:
                self._answers.put(failure)
                continue
            try:
                answer = self._session.validate(argument) if kind == "validate" else self._session.data_docs(argument)
            except BaseException as problem:
                answer = problem
            self._answers.put(answer)

    def _answer(self, block: bool):
        try:
            answer = self._answers.get(block=block)
        except queue.Empty:
            return None
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def submit(self, suite: SuiteFrame) -> None:
        self._requests.put(("validate", suite))

    def finished(self) -> list[Verdict]:
        """The verdicts that are in, without waiting."""
        done = []
        while (verdict := self._answer(block=False)) is not None:
            done.append(verdict)
        return done

    def wait(self) -> Verdict:
        """The next verdict, in the order the suites were submitted."""
        return self._answer(block=True)

    def start_data_docs(self, run_id: str) -> None:
        """Render the Data Docs of `run_id` after the suites submitted so far; finish_data_docs() waits for them."""
        self._requests.put(("docs", run_id))

    def finish_data_docs(self) -> dict[str, object]:
        """The summary of the Data Docs asked for by start_data_docs(), once they are written."""
        return self._answer(block=True)

    def timings(self) -> dict[str, float]:
        return self._session.timings.as_dict() if self._session else Timings().as_dict()

    def __enter__(self) -> ValidatingInThread:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Stop the thread once its current request is done: after an error in the gate, GX must
        not go on writing results to the data directory."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._requests.get_nowait()
        self._requests.put(None)
        self._thread.join()
