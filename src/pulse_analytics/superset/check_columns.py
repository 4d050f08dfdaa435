"""Columns, metrics and filters: every name a chart or native filter uses exists in its dataset, and every dataset
column exists in the dbt model it reads (or in the result of its SQL, for a virtual dataset), in lower case.

Column names are lower case on DuckDB and on Trino by design (Trino folds unquoted names to lower case; the views
select every column under its lower-case name), so an asset naming a column in any other case is reported even where
DuckDB, which ignores case, would still find it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from pulse_analytics.superset import expressions
from pulse_analytics.superset.bundle import Asset, Bundle, names

# Chart params that name dataset columns, and those that name metrics (saved metric names or adhoc metrics).
COLUMN_KEYS = (
    "groupby",
    "columns",
    "all_columns",
    "x_axis",
    "series",
    "entity",
    "all_columns_x",
    "all_columns_y",
    "granularity_sqla",
    "groupbyColumns",
    "groupbyRows",
    "series_columns",
    "column",
    "temporal_columns",
)
METRIC_KEYS = (
    "metrics",
    "metric",
    "percent_metrics",
    "timeseries_limit_metric",
    "secondary_metric",
    "metric_2",
    "x",
    "y",
    "size",
    "sort_by_metric",
)
COLUMN_FIELDS = names(
    "column_name extra verbose_name is_dttm is_active type advanced_data_type groupby filterable "
    "expression description python_date_format datetime_format"
)
METRIC_FIELDS = names(
    "metric_name verbose_name metric_type expression description d3format currency extra warning_text"
)
FILTERS_WITH_COLUMN = ("filter_select", "filter_range")


@dataclass
class DatasetColumns:
    """What a chart on a dataset can use: its columns and metrics, and the columns its table has (None: unknown)."""

    asset: Asset
    columns: list[str]
    metrics: list[str]
    table_columns: list[str] | None

    @property
    def title(self) -> str:
        return f"dataset {self.asset.data.get('table_name')}"

    @property
    def sql_columns(self) -> Collection[str]:
        """What SQL on this dataset can refer to."""
        return set(self.columns) | set(self.table_columns or [])


def check(bundle: Bundle, models: dict[str, list[str]], source: str) -> None:
    """Report every unknown or wrongly cased column, metric and filter of the bundle's datasets, charts, dashboards."""
    datasets: dict[str, DatasetColumns] = {}
    for dataset in bundle.assets["datasets"]:
        datasets.setdefault(dataset.uuid, check_dataset(bundle, dataset, models, source))
    for chart in bundle.assets["charts"]:
        dataset = datasets.get(str(chart.data.get("dataset_uuid")))
        if dataset is not None:
            check_chart(bundle, chart, dataset)
    for dashboard in bundle.assets["dashboards"]:
        check_native_filters(bundle, dashboard, datasets)


def hint(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name.lower(), list(known), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def named_entries(bundle: Bundle, dataset: Asset, key: str, name_key: str, fields: frozenset[str]) -> list[str]:
    """The names of a dataset's columns or metrics, each entry's shape checked."""
    names: list[str] = []
    entries = dataset.data.get(key) or []
    if not isinstance(entries, list):
        bundle.report(dataset, f"{key} is a {type(entries).__name__}, not a list")
        return names
    for index, entry in enumerate(entries):
        name = entry.get(name_key) if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            bundle.report(dataset, f"{key}[{index}] has no {name_key}")
            continue
        unknown = sorted(set(entry) - fields)
        if unknown:
            bundle.report(
                dataset,
                f"{key[:-1]} '{name}' has key(s) {', '.join(unknown)} that Superset's import "
                f"refuses (known: {', '.join(sorted(fields))})",
            )
        if name in names:
            bundle.report(dataset, f"{key[:-1]} '{name}' is listed twice")
        names.append(name)
    return names


def check_dataset(bundle: Bundle, dataset: Asset, models: dict[str, list[str]], source: str) -> DatasetColumns:
    columns = named_entries(bundle, dataset, "columns", "column_name", COLUMN_FIELDS)
    metrics = named_entries(bundle, dataset, "metrics", "metric_name", METRIC_FIELDS)
    table_columns, origin = table_of(bundle, dataset, models, source)
    result = DatasetColumns(dataset, columns, metrics, table_columns)
    entries = [entry for entry in dataset.data.get("columns") or [] if isinstance(entry, dict)]
    for entry in entries:
        name = str(entry.get("column_name"))
        if name != name.lower():
            bundle.report(
                dataset,
                f"column '{name}' is not lower case; the views name every column in lower case on "
                f"DuckDB and Trino ('{name.lower()}')",
            )
        elif entry.get("expression"):
            check_sql(
                bundle,
                dataset,
                f"calculated column '{name}'",
                str(entry["expression"]),
                result.sql_columns,
                result.title,
            )
        elif table_columns is not None and name not in table_columns:
            bundle.report(dataset, f"column '{name}' is not in {origin}{hint(name, table_columns)}")
    for entry in dataset.data.get("metrics") or []:
        if isinstance(entry, dict) and entry.get("metric_name"):
            check_sql(
                bundle,
                dataset,
                f"metric '{entry['metric_name']}'",
                str(entry.get("expression") or ""),
                result.sql_columns,
                result.title,
            )
    main = dataset.data.get("main_dttm_col")
    if main and main not in columns:
        bundle.report(dataset, f"main_dttm_col '{main}' is not a column of the dataset{hint(main, columns)}")
    return result


def table_of(bundle: Bundle, dataset: Asset, models: dict[str, list[str]], source: str) -> tuple[list[str] | None, str]:
    """The columns of what the dataset queries (its dbt model, or its SQL's result) and how to name it."""
    table = str(dataset.data.get("table_name"))
    schema = bundle.environments[0].schema
    sql = dataset.data.get("sql")
    if sql:
        try:
            return expressions.query_columns(str(sql), schema, models), "the result of its sql"
        except expressions.ExpressionError as error:
            bundle.report(dataset, f"sql {error}")
            return None, ""
    if dataset.data.get("schema") not in (None, schema):
        bundle.report(
            dataset,
            f"schema '{dataset.data.get('schema')}' is not the schema dbt builds the views in "
            f"('{schema}'); write '{{{{ schema }}}}'",
        )
    if table not in models:
        bundle.report(dataset, f"table_name '{table}' is not a dbt model (per {source}){hint(table, models)}")
        return None, ""
    return models[table], f"dbt model {table} (per {source})"


def check_sql(bundle: Bundle, asset: Asset, where: str, sql: str, known: Collection[str], title: str) -> None:
    """SQL in an asset parses on both engines and refers only to known columns, in lower case."""
    if "{{" in sql or "{%" in sql:
        return  # Superset renders its own Jinja at query time; the parts cannot be parsed before that
    try:
        references = expressions.column_references(sql)
    except expressions.ExpressionError as error:
        bundle.report(asset, f"{where} {error}: {sql}")
        return
    for reference in references:
        if reference.name != reference.name.lower():
            bundle.report(
                asset,
                f"{where} refers to column '{reference.name}', which is not lower case "
                f"('{reference.name.lower()}' on both engines)",
            )
        elif reference.name not in known:
            bundle.report(
                asset,
                f"{where} refers to column '{reference.name}', which is not in {title}{hint(reference.name, known)}",
            )


def check_chart(bundle: Bundle, chart: Asset, dataset: DatasetColumns) -> None:
    params = chart.data.get("params") or {}
    if params.get("viz_type") not in (None, chart.data.get("viz_type")):
        bundle.report(
            chart, f"params.viz_type '{params['viz_type']}' differs from viz_type '{chart.data.get('viz_type')}'"
        )
    source = f"{dataset.title} ({bundle.name(dataset.asset.path)})"
    labels: set[str] = set()
    for where, kind, value, label in chart_references(params):
        if label:
            labels.add(label)
        if kind == "sql":
            check_sql(bundle, chart, where, value, dataset.sql_columns, source)
        elif kind == "metric" and value not in dataset.metrics:
            bundle.report(
                chart, f"{where} uses metric '{value}', which is not a metric of {source}{hint(value, dataset.metrics)}"
            )
        elif kind == "column":
            check_column(bundle, chart, where, value, dataset, source)
    for key in params.get("column_config") or {}:
        if key not in set(dataset.columns) | set(dataset.metrics) | labels:
            bundle.report(
                chart, f"params.column_config configures '{key}', which is neither a column nor a metric of {source}"
            )


def check_column(bundle: Bundle, asset: Asset, where: str, name: str, dataset: DatasetColumns, source: str) -> None:
    if name != name.lower():
        bundle.report(asset, f"{where} uses column '{name}', which is not lower case ('{name.lower()}')")
    elif name not in dataset.columns:
        bundle.report(
            asset, f"{where} uses column '{name}', which is not a column of {source}{hint(name, dataset.columns)}"
        )


def chart_references(params: dict[str, Any]) -> Iterator[tuple[str, str, str, str | None]]:
    """(where, kind, name or SQL, label) for every column, metric and SQL expression a chart's params use."""
    for key in COLUMN_KEYS:
        for where, item in entries(params, key):
            yield from column_item(where, item)
    for key in METRIC_KEYS:
        for where, item in entries(params, key):
            yield from metric_item(where, item)
    for index, pair in enumerate(params.get("orderby") or []):
        if isinstance(pair, list) and pair:
            yield from metric_item(f"params.orderby[{index}]", pair[0])
    for index, text in enumerate(params.get("order_by_cols") or []):
        try:
            column = json.loads(text)[0] if isinstance(text, str) else None
        except (ValueError, IndexError, KeyError):
            column = None
        if isinstance(column, str):
            yield f"params.order_by_cols[{index}]", "column", column, None
    for index, item in enumerate(params.get("adhoc_filters") or []):
        yield from filter_item(f"params.adhoc_filters[{index}]", item)


def entries(params: dict[str, Any], key: str) -> Iterator[tuple[str, Any]]:
    value = params.get(key)
    if value in (None, "", []):
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield f"params.{key}[{index}]", item
    else:
        yield f"params.{key}", value


def column_item(where: str, item: Any) -> Iterator[tuple[str, str, str, str | None]]:
    if isinstance(item, str):
        yield where, "column", item, None
    elif isinstance(item, dict) and isinstance(item.get("sqlExpression"), str):
        yield where, "sql", item["sqlExpression"], item.get("label")


def metric_item(where: str, item: Any) -> Iterator[tuple[str, str, str, str | None]]:
    if isinstance(item, str):
        yield where, "metric", item, None
    elif isinstance(item, dict):
        label = item.get("label")
        if item.get("expressionType") == "SQL" and isinstance(item.get("sqlExpression"), str):
            yield where, "sql", item["sqlExpression"], label
        elif isinstance(item.get("column"), dict) and item["column"].get("column_name"):
            yield f"{where}.column", "column", str(item["column"]["column_name"]), label


def filter_item(where: str, item: Any) -> Iterator[tuple[str, str, str, str | None]]:
    if not isinstance(item, dict):
        return
    if item.get("expressionType") == "SQL" and isinstance(item.get("sqlExpression"), str):
        yield where, "sql", item["sqlExpression"], None
    elif isinstance(item.get("subject"), str):
        yield f"{where}.subject", "column", item["subject"], None


def check_native_filters(bundle: Bundle, dashboard: Asset, datasets: dict[str, DatasetColumns]) -> None:
    filters = (dashboard.data.get("metadata") or {}).get("native_filter_configuration") or []
    ids = {native_filter.get("id") for native_filter in filters if isinstance(native_filter, dict)}
    for native_filter in filters:
        if not isinstance(native_filter, dict) or native_filter.get("type") == "DIVIDER":
            continue
        where = f"native filter '{native_filter.get('name') or native_filter.get('id')}'"
        for parent in native_filter.get("cascadeParentIds") or []:
            if parent not in ids:
                bundle.report(dashboard, f"{where} depends on filter {parent}, which is not a filter of the dashboard")
        for target in native_filter.get("targets") or []:
            check_filter_target(bundle, dashboard, where, native_filter, target, datasets)


def check_filter_target(
    bundle: Bundle,
    dashboard: Asset,
    where: str,
    native_filter: dict[str, Any],
    target: dict[str, Any],
    datasets: dict[str, DatasetColumns],
) -> None:
    dataset_uuid = target.get("datasetUuid")
    filter_type = native_filter.get("filterType")
    if dataset_uuid is None:
        if filter_type in FILTERS_WITH_COLUMN:
            bundle.report(dashboard, f"{where} ({filter_type}) targets no dataset")
        return
    dataset = datasets.get(str(dataset_uuid))
    if dataset is None:
        if not bundle.known("datasets", dataset_uuid):
            bundle.report(dashboard, f"{where} targets dataset {dataset_uuid}, which is not the uuid of any dataset")
        return
    source = f"{dataset.title} ({bundle.name(dataset.asset.path)})"
    column = (target.get("column") or {}).get("name")
    if column:
        check_column(bundle, dashboard, where, str(column), dataset, source)
    elif filter_type in FILTERS_WITH_COLUMN:
        bundle.report(dashboard, f"{where} ({filter_type}) targets no column of {source}")
    metric = native_filter.get("sortMetric")
    if metric and metric not in dataset.metrics:
        bundle.report(dashboard, f"{where} sorts by metric '{metric}', which is not a metric of {source}")
    for index, item in enumerate(native_filter.get("adhoc_filters") or []):
        for filter_where, kind, value, _label in filter_item(f"{where} adhoc_filters[{index}]", item):
            if kind == "sql":
                check_sql(bundle, dashboard, filter_where, value, dataset.sql_columns, source)
            else:
                check_column(bundle, dashboard, filter_where, value, dataset, source)
    for item in ((native_filter.get("defaultDataMask") or {}).get("extraFormData") or {}).get("filters") or []:
        if isinstance(item, dict) and isinstance(item.get("col"), str):
            check_column(bundle, dashboard, f"{where} default value", item["col"], dataset, source)
