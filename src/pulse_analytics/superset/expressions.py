"""SQL in the assets (metric expressions, calculated columns, SQL filters, virtual datasets), read with sqlglot.

Every expression must parse as DuckDB SQL and as Trino SQL, since the same asset runs on both. The columns it refers
to are found in the parse tree, so a check can compare them with the columns of the table the SQL runs on.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify

DIALECTS = ("duckdb", "trino")


class ExpressionError(ValueError):
    """SQL that does not parse, or refers to what does not exist; the message says what and where."""


@dataclass(frozen=True)
class Reference:
    name: str  # as written, case kept
    quoted: bool


def parse(sql: str) -> exp.Expression:
    """The SQL parsed as DuckDB; it must parse as Trino too."""
    parsed: exp.Expression | None = None
    for dialect in DIALECTS:
        try:
            expression = sqlglot.parse_one(sql, read=dialect)
        except SqlglotError as error:
            first_line = str(error).splitlines()[0]
            raise ExpressionError(f"does not parse as {dialect} SQL ({first_line})") from error
        parsed = parsed or expression
    assert parsed is not None
    return parsed


def column_references(sql: str) -> list[Reference]:
    """The columns an expression (not a query) refers to, in order of appearance, each once."""
    found: dict[str, Reference] = {}
    for column in parse(sql).find_all(exp.Column):
        identifier = column.this
        if isinstance(identifier, exp.Identifier):
            found.setdefault(identifier.name, Reference(identifier.name, bool(identifier.quoted)))
    return list(found.values())


def query_columns(sql: str, schema: str, tables: dict[str, list[str]]) -> list[str]:
    """The output columns of a SELECT over the given tables of one schema.

    Fails naming the table or column when the query reads a table that is not in `tables` or a column its table
    does not have.
    """
    query = parse(sql)
    ctes = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
    for table in query.find_all(exp.Table):
        if table.name in ctes and not table.db:
            continue
        if table.db and table.db != schema:
            raise ExpressionError(
                f"reads {table.sql()}, which is not in schema '{schema}' where dbt builds the views "
                "(write {{ schema }}." + table.name + ")"
            )
        if table.name not in tables:
            raise ExpressionError(f"reads table {table.name}, which is not a dbt model")
    mapping = {schema: {name: dict.fromkeys(columns, "text") for name, columns in tables.items()}}
    try:
        qualified = qualify(query, schema=mapping, dialect="duckdb", validate_qualify_columns=True)
    except OptimizeError as error:
        raise ExpressionError(f"refers to what its tables do not have: {error}") from error
    return list(qualified.named_selects)
