"""The gate's witness frames (quality._witness_frame) give every expectation the verdict, and the
unexpected values, that the same expectation gives on every row.

Hypothesis draws tables whose columns hold nulls, repeats and values out of range, and a set of
checks per column; Great Expectations then validates both the rows and the witness frame."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import great_expectations as gx
import pandas as pd
import pytest
from great_expectations.data_context.types.base import ProgressBarsConfig
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qnwu_warehouse.checks import quality

CHECKS = {
    "expect_column_values_to_not_be_null": {},
    "expect_column_values_to_be_unique": {},
    "expect_column_values_to_be_between": {"min_value": 0, "max_value": 6},
    "expect_column_values_to_be_in_set": {"value_set": [0, 1, 2, 3, 5, 8]},
}
TEXT_CHECKS = {
    "expect_column_values_to_not_be_null": {},
    "expect_column_values_to_be_unique": {},
    "expect_column_values_to_match_regex": {"regex": r"^[a-c]+$"},
    "expect_column_values_to_be_in_set": {"value_set": ["a", "b", "ab", "abc"]},
}


@pytest.fixture(scope="module")
def batch_of():
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("frames")
    definition = source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("whole")
    return lambda frame: definition.get_batch(batch_parameters={"dataframe": frame})


def _verdicts(batch, expectations: list[tuple[str, str, dict]]) -> list[tuple[str, str, bool, list]]:
    out = []
    for kind, column, kwargs in expectations:
        camel = "".join(part.capitalize() for part in kind.split("_"))
        result = batch.validate(getattr(gx.expectations, camel)(column=column, **kwargs), result_format="COMPLETE")
        unexpected = sorted({"null" if pd.isna(v) else str(v) for v in (result.result or {}).get("unexpected_list", [])})
        out.append((kind, column, bool(result.success), unexpected))
    return out


numbers = st.lists(st.one_of(st.none(), st.integers(-2, 9)), min_size=0, max_size=40)
texts = st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "ab", "abc", "d", "a1", ""])), max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_witness_frame_gives_every_verdict_and_unexpected_value_of_the_rows(batch_of, data):
    rows = data.draw(st.integers(0, 40))
    columns = {
        "n1": data.draw(st.lists(st.one_of(st.none(), st.integers(-2, 9)), min_size=rows, max_size=rows)),
        "n2": data.draw(st.lists(st.one_of(st.none(), st.integers(0, 1000)), min_size=rows, max_size=rows)),
        "t1": data.draw(
            st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "ab", "abc", "d", "a1"])), min_size=rows, max_size=rows)
        ),
        "unread": [None] * rows,
    }
    chosen = {
        "n1": data.draw(st.sets(st.sampled_from(sorted(CHECKS)), min_size=1)),
        "n2": data.draw(st.sets(st.sampled_from(sorted(CHECKS)))),
        "t1": data.draw(st.sets(st.sampled_from(sorted(TEXT_CHECKS)))),
    }
    _assert_the_witness_stands_for_the_rows(batch_of, rows, columns, chosen)


def test_a_repeated_value_of_a_reduced_reference_set_column_is_not_tripled(batch_of):
    """Found by the test above in CI: 'a' and 'd' were each in the reduced column's values (outside
    the set, one inside) and twice more as repeats, so 5 rows gave a frame of 7."""
    _assert_the_witness_stands_for_the_rows(
        batch_of,
        5,
        {"n1": [None] * 5, "n2": [None] * 5, "t1": [None, "a", "a", "d", "d"], "unread": [None] * 5},
        {
            "n1": {"expect_column_values_to_be_between"},
            "n2": set(),
            "t1": {
                "expect_column_values_to_be_unique",
                "expect_column_values_to_not_be_null",
                "expect_column_values_to_be_in_set",
            },
        },
    )


def _assert_the_witness_stands_for_the_rows(batch_of, rows: int, columns: dict, chosen: dict) -> None:
    con = duckdb.connect()
    con.execute("create table checked (n1 integer, n2 integer, t1 varchar, unread varchar)")
    if rows:
        con.executemany("insert into checked values (?, ?, ?, ?)", list(zip(*columns.values(), strict=True)))
    expectations = [
        (kind, column, (TEXT_CHECKS if column == "t1" else CHECKS)[kind])
        for column, kinds in chosen.items()
        for kind in sorted(kinds)
    ]
    checks = {column: kinds for column, kinds in chosen.items() if kinds}
    reference_sets = {
        column: (TEXT_CHECKS if column == "t1" else CHECKS)["expect_column_values_to_be_in_set"]["value_set"]
        for column, kinds in chosen.items()
        if "expect_column_values_to_be_in_set" in kinds
    }
    witness, reduced = quality._witness_frame(con, "checked", checks, reference_sets)
    on_witness_expectations = [
        (kind, column, {**kwargs, "value_set": reduced[column]} if kind.endswith("in_set") and column in reduced else kwargs)
        for kind, column, kwargs in expectations
    ]
    assert list(witness.columns) == ["n1", "n2", "t1", "unread"]
    assert len(witness) <= rows + 1
    on_rows = _verdicts(batch_of(con.execute("select * from checked").df()), expectations)
    on_witness = _verdicts(batch_of(witness), on_witness_expectations)
    assert on_witness == on_rows
    for kind, column, success, unexpected in on_rows:
        if not success:  # the gate reads the count of failing rows back from the real rows
            listed = [v for v in con.execute(f"select {column} from checked").fetchall()]
            expected = sum(
                1
                for (v,) in listed
                if (v is None if kind.endswith("not_be_null") else v is not None and str(v) in unexpected)
            )
            if kind.endswith("unique"):
                values = [v for (v,) in listed if v is not None]
                expected = sum(1 for v in values if values.count(v) > 1)
            witness_kwargs = next(
                k for e_kind, e_column, k in on_witness_expectations if (e_kind, e_column) == (kind, column)
            )
            gx_values = quality._python_values(
                batch_of(witness)
                .validate(
                    getattr(gx.expectations, "".join(p.capitalize() for p in kind.split("_")))(
                        column=column, **witness_kwargs
                    ),
                    result_format="COMPLETE",
                )
                .result.get("unexpected_list", [])
            )
            assert quality._unexpected_rows(con, "checked", kind, column, gx_values) == expected


def _printed_by_a_fresh_interpreter(script: str) -> list[str]:
    """The lines `script` prints in a Python of its own: what GX's import leaves loaded depends on
    everything imported before it, so each of these checks starts from nothing."""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


DEFERRED_IMPORT_SCRIPT = """
import sys
from qnwu_warehouse.checks import gx_validation

assert "great_expectations" not in sys.modules
gx_validation.import_great_expectations()
import great_expectations  # noqa: F401
print(sorted(name for name in sys.modules if name.startswith(("scipy.stats.", "altair.", "jsonschema.", "mistune."))))
import jsonschema
print("jsonschema.validators" in sys.modules, jsonschema.Draft7Validator({"type": "integer"}).is_valid(7))
import mistune
print(mistune.html("*x*").strip(), "mistune.block_parser" in sys.modules)
from scipy.stats import norm
print(norm.cdf(0), "scipy.stats._continuous_distns" in sys.modules)
import altair as alt
print("altair.vegalite" in sys.modules, alt.Chart.__name__, "altair.vegalite" in sys.modules)
import scipy.stats as stats
print(stats.kstest is sys.modules["scipy.stats"].kstest)
"""


def test_the_gate_imports_great_expectations_without_running_the_modules_it_defers_until_they_are_used():
    """The gate defers scipy.stats, altair, jsonschema and mistune, 0.9 s of GX's import that no
    suite uses: GX imports without running them (also through `import altair as alt`, which reads
    the module's __spec__), and the first use of one of their names loads the whole module."""
    assert _printed_by_a_fresh_interpreter(DEFERRED_IMPORT_SCRIPT) == [
        "[]",
        "False True",
        "<p><em>x</em></p> True",
        "0.5 True",
        "False Chart True",
        "True",
    ]


UNUSED_DATA_SOURCES_SCRIPT = """
import sys
import pandas as pd
from qnwu_warehouse.checks import gx_validation

gx_validation.import_great_expectations()
import great_expectations as gx

print([name for name in gx_validation.UNUSED_GX_DATA_SOURCES
       if not isinstance(sys.modules.get(name), gx_validation._DataSourceNotLoaded)])
context = gx.get_context(mode="ephemeral")
frames = context.data_sources.add_pandas("frames").add_dataframe_asset("frame").add_batch_definition_whole_dataframe("all")
batch = frames.get_batch(batch_parameters={"dataframe": pd.DataFrame({"a": [1, None, 3]})})
print(batch.validate(gx.expectations.ExpectColumnValuesToNotBeNull(column="a")).result["unexpected_count"])
print(hasattr(context.data_sources, "add_spark"), hasattr(context.data_sources, "add_postgres"))
from great_expectations.datasource.fluent import SQLDatasource
try:
    SQLDatasource(name="db", connection_string="sqlite://")
except RuntimeError as refused:
    print(str(refused).split(" is not loaded")[0])
"""


def test_the_gate_imports_great_expectations_without_the_data_sources_its_project_never_has():
    """Spark's and the SQL databases' data sources are placeholders in the gate's process (1.0 s of
    GX's 3.7 s import): none of their modules runs, GX validates a pandas frame as before, the
    context offers no Spark or PostgreSQL source, and making one says why it cannot be made."""
    assert _printed_by_a_fresh_interpreter(UNUSED_DATA_SOURCES_SCRIPT) == [
        "[]",
        "1",
        "False False",
        "great_expectations.datasource.fluent.sql_datasource.SQLDatasource",
    ]


DEFERRED_EXPECTATIONS_SCRIPT = """
import sys
import pandas as pd
from qnwu_warehouse.checks import gx_validation

def loaded():
    return sorted(n.rsplit(".", 1)[1] for n in sys.modules if n.startswith(gx_validation.CORE_EXPECTATIONS + ".expect_"))

gx_validation.import_great_expectations()
import great_expectations as gx
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

print(loaded())
context = gx.get_context(mode="ephemeral")
frames = context.data_sources.add_pandas("frames").add_dataframe_asset("frame").add_batch_definition_whole_dataframe("all")
batch = frames.get_batch(batch_parameters={"dataframe": pd.DataFrame({"a": [1, None, 3]})})
print(batch.validate(gx.expectations.ExpectColumnValuesToNotBeNull(column="a")).result["unexpected_count"], loaded())
from great_expectations.expectations.core import ExpectColumnMaxToBeBetween
from great_expectations.expectations import ExpectColumnMaxToBeBetween as exported
print(ExpectColumnMaxToBeBetween is exported is gx.expectations.core.ExpectColumnMaxToBeBetween,
      batch.validate(exported(column="a", max_value=2)).success)
stored = ExpectationConfiguration(type="expect_table_row_count_to_be_between", kwargs={"min_value": 1, "max_value": 2})
print(type(stored.to_domain_obj()).__name__, batch.validate(stored.to_domain_obj()).success)
print(loaded())
try:
    gx.expectations.ExpectNoSuchThing
except AttributeError as unknown:
    print("AttributeError:", unknown)
print(hasattr(context.data_sources, "add_pandas_filesystem"), hasattr(context.data_sources, "add_pandas"))
in_set = gx.expectations.ExpectColumnValuesToBeInSet(column="a", value_set=[1, 3])
print(batch.validate(in_set).result["unexpected_count"], "sqlalchemy" in sys.modules)
import sqlalchemy
print(sqlalchemy.__name__)
"""


def test_the_gate_imports_each_core_expectation_of_great_expectations_when_it_is_first_asked_for():
    """GX's package imports its 60 core expectations, pydantic models built on the spot; the gate's
    process runs none of their modules at GX's import, and each when its expectation is first asked
    for: by class name (`gx.expectations.X`, `from ... import X`) or by type, as GX finds a stored
    suite's expectation (its registry). The pandas data sources that read files are placeholders.
    SQLAlchemy stays unloaded while an expectation's module runs (in set imports it for nothing),
    and importable afterwards."""
    assert _printed_by_a_fresh_interpreter(DEFERRED_EXPECTATIONS_SCRIPT) == [
        "[]",
        "1 ['expect_column_values_to_not_be_null']",
        "True False",
        "ExpectTableRowCountToBeBetween False",
        "['expect_column_max_to_be_between', 'expect_column_values_to_not_be_null', 'expect_table_row_count_to_be_between']",
        "AttributeError: module 'great_expectations.expectations' has no attribute 'ExpectNoSuchThing'",
        "False True",
        "0 False",
        "sqlalchemy",
    ]


CONFIGURATION_ONCE_SCRIPT = """
import json
import pandas as pd
from qnwu_warehouse.checks import gx_validation

gx_validation.import_great_expectations()
import great_expectations as gx
from great_expectations.expectations import expectation as expectation_module

built = []  # each build of an expectation's configuration names its class once
real_camel_to_snake = expectation_module.camel_to_snake
expectation_module.camel_to_snake = lambda name: built.append(name) or real_camel_to_snake(name)
context = gx.get_context(mode="ephemeral")
frames = context.data_sources.add_pandas("frames").add_dataframe_asset("frame").add_batch_definition_whole_dataframe("all")
batch = frames.get_batch(batch_parameters={"dataframe": pd.DataFrame(
    {"a": [1, 2, 2, None, 9], "b": ["x", "y", "zz", None, "x"]})})
checks = [
    gx.expectations.ExpectColumnValuesToNotBeNull(column="a"),
    gx.expectations.ExpectColumnValuesToBeUnique(column="a"),
    gx.expectations.ExpectColumnValuesToBeBetween(column="a", min_value=0, max_value=5, mostly=0.5),
    gx.expectations.ExpectColumnValuesToBeInSet(column="b", value_set=["x", "y"]),
    gx.expectations.ExpectColumnValuesToMatchRegex(column="b", regex="^[a-z]$"),
    gx.expectations.ExpectTableRowCountToBeBetween(min_value=1, max_value=3),
]

def verdicts():
    built.clear()
    found = []
    for check in checks:
        result = batch.validate(check, result_format="COMPLETE")
        found.append([result.success, result.to_json_dict()["result"]])
    return json.dumps(found, sort_keys=True, default=str), len(built)

before, builds_before = verdicts()
gx_validation._build_configuration_once_per_kwargs_read()
after, builds_after = verdicts()
print(before == after, builds_before, builds_after)
print(json.loads(after)[2][0], json.loads(after)[3][1]["unexpected_list"])
"""


def test_great_expectations_builds_an_expectations_configuration_once_per_read_of_its_arguments():
    """GX built an expectation's configuration again on each read of one of its arguments
    (gx_validation._build_configuration_once_per_kwargs_read): after the change the same checks give
    the same verdicts and results, with a third of the builds or fewer."""
    printed = _printed_by_a_fresh_interpreter(CONFIGURATION_ONCE_SCRIPT)
    same, before, after = printed[0].split()
    assert same == "True"
    assert int(after) * 3 <= int(before), (before, after)
    assert printed[1] == "True ['zz']"
