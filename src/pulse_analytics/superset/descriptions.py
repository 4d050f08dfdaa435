"""Column descriptions: written once, in the dbt docs (dbt/models/_column_docs.md and the models' YAML), and copied
from dbt's manifest (`dbt parse`, docs blocks resolved; dbt.manifest) by `pulse check --normalize` into

- every physical dataset (datasets/datasets/): each column its dbt model documents carries exactly the model's
  description (a column the model does not document, such as a dm__* metadata column, keeps its own);
- README.md, between `<!-- column definitions from the dbt docs ...: <column> <column> ... -->` and
  `<!-- end of column definitions -->`: a table of those columns, the marts that have them, and their description.

`pulse check` reports every copy that differs from the manifest, and says to run `pulse check --normalize`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulse_analytics import dbt
from pulse_analytics.errors import PulseError
from pulse_analytics.superset.bundle import Bundle

README = "README.md"
TABLE = re.compile(
    r"(?P<start><!-- column definitions from the dbt docs[^:>]*: (?P<columns>[\w ]+) -->\n)"
    r"(?P<table>.*?)(?P<end><!-- end of column definitions -->)",
    re.DOTALL,
)
FIX = "run `pulse check --normalize` to write the dbt docs' description"


@dataclass(frozen=True)
class Docs:
    """What the dbt docs say about the models' columns."""

    columns: dict[str, dict[str, str]]  # model -> documented column -> description
    marts: list[str]  # the models of models/marts, in name order


def read(dbt_dir: Path | None = None) -> Docs:
    """The column descriptions of every model of the dbt project (default: the project's dbt/), from its manifest."""
    models = [node for node in dbt.manifest(dbt_dir)["nodes"].values() if node.get("resource_type") == "model"]
    columns = {
        node["name"]: {
            name: text
            for name, column in (node.get("columns") or {}).items()
            if (text := str(column.get("description") or "").strip())
        }
        for node in models
    }
    marts = sorted(node["name"] for node in models if node.get("fqn", [])[1:2] == ["marts"])
    return Docs(columns, marts)


def differences(dataset: Any, docs: Docs) -> Iterator[tuple[dict[str, Any], str]]:
    """(column entry, its dbt description) for every column of a physical dataset described otherwise than its dbt
    model describes it. Virtual datasets (sql) and columns the model does not document are left alone."""
    if not isinstance(dataset, dict) or dataset.get("sql"):
        return
    documented = docs.columns.get(str(dataset.get("table_name")), {})
    columns = dataset.get("columns")
    for entry in columns if isinstance(columns, list) else []:
        if isinstance(entry, dict):
            text = documented.get(str(entry.get("column_name")))
            if text is not None and entry.get("description") != text:
                yield entry, text


def describe(dataset: Any, docs: Docs) -> None:
    """Write the dbt docs' descriptions into a dataset (as parsed from its file)."""
    for entry, text in list(differences(dataset, docs)):
        entry["description"] = text


def check(bundle: Bundle, docs: Docs) -> None:
    """Report every dataset column, and the README's table, that says otherwise than the dbt docs."""
    for dataset in bundle.assets["datasets"]:
        for entry, text in differences(dataset.data, docs):
            where = f"column '{entry['column_name']}'"
            model = f"dbt model {dataset.data['table_name']}"
            if entry.get("description"):
                bundle.report(
                    dataset,
                    f"{where} is not described as {model} describes it "
                    f"({first_difference(str(entry['description']), text)}): {FIX}",
                )
            else:
                bundle.report(dataset, f"{where} has no description; {model} describes it {quoted(text)}: {FIX}")
    readme = bundle.root / README
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        try:
            if with_tables(text, docs) != text:
                bundle.report(
                    readme,
                    "the table between <!-- column definitions from the dbt docs ... --> and "
                    "<!-- end of column definitions --> is not what the dbt docs say: run `pulse "
                    "check --normalize` to write it",
                )
        except PulseError as error:
            bundle.report(readme, str(error))


def write_readme(root: Path, docs: Docs) -> Path | None:
    """Write the README's tables of column definitions from the dbt docs; returns the README if it changed."""
    readme = root / README
    if not readme.is_file():
        return None
    text = readme.read_text(encoding="utf-8")
    written = with_tables(text, docs)
    if written == text:
        return None
    readme.write_text(written, encoding="utf-8")
    return readme


def with_tables(text: str, docs: Docs) -> str:
    """The README text with each table of column definitions written from the dbt docs."""
    return TABLE.sub(lambda found: found["start"] + table(found["columns"].split(), docs) + found["end"], text)


def table(columns: list[str], docs: Docs) -> str:
    """A Markdown table: each column, the marts that have it, and the description the dbt docs give it there (one row
    per description, should marts describe the same column differently)."""
    lines = ["| column | views | definition |", "| --- | --- | --- |"]
    for column in columns:
        by_text: dict[str, list[str]] = {}
        for mart in docs.marts:
            if column in docs.columns.get(mart, {}):
                by_text.setdefault(docs.columns[mart][column], []).append(mart)
        if not by_text:
            raise PulseError(
                f"column '{column}' of the column definitions (between <!-- column definitions from the "
                "dbt docs ... --> and <!-- end of column definitions -->) is documented in no dbt mart "
                "(dbt/models/marts/_marts.yml); document it there, or take it off the list"
            )
        for text, marts in by_text.items():
            views = ", ".join(f"`{mart}`" for mart in marts)
            cell = " ".join(text.split()).replace("|", r"\|")
            lines.append(f"| `{column}` | {views} | {cell} |")
    return "\n".join(lines) + "\n"


def quoted(text: str, width: int = 60) -> str:
    """A description as a message shows it: quoted, long ones cut."""
    return repr(text if len(text) <= width else text[: width - 3] + "...")


def first_difference(written: str, documented: str, context: int = 30) -> str:
    """Where two descriptions part, as a message shows it: the few words around it in each."""
    at = next(
        (index for index, (a, b) in enumerate(zip(written, documented, strict=False)) if a != b),
        min(len(written), len(documented)),
    )
    start = max(0, at - context)

    def around(text: str) -> str:
        return ("..." if start else "") + text[start : at + context] + ("..." if len(text) > at + context else "")

    return f"from character {at + 1}: {around(written)!r} here, {around(documented)!r} in the dbt docs"
