"""The local engine's DuckDB SQL as Spark SQL: the rules are written once.

`to_spark` transpiles with SQLGlot (``read="duckdb", write="spark"``), refusing anything
SQLGlot cannot express in Spark SQL, plus two documented transforms of the syntax tree:

* ``TRY_STRPTIME(text, '%d/%m/%Y')`` (DuckDB: NULL when the text does not parse) becomes
  ``TRY_TO_TIMESTAMP(text, 'd/M/yyyy')``, the format translated as SQLGlot translates
  ``STRPTIME`` (into ``TO_TIMESTAMP``). SQLGlot leaves TRY_STRPTIME as it is. Only the
  date-format detection and the diagnosis of bad values use it; the features never do.
* Common table expressions (``WITH marked AS (...)``) are inlined as subqueries in FROM.
  Spark plans both the same way, but Spark 4.3 does not use a cached DataFrame that a CTE
  reads through a temporary view: the features query re-read and re-deduplicated the whole
  file (measured on Online Retail: 45 s instead of a few) where the same query with
  subqueries reads the cached lines.

What the two engines would otherwise do differently is settled in the DuckDB SQL itself
(`custseg.transactions`): TRIM names the characters it removes (Spark's TRIM removes only the
ASCII space), and whole-number float ids are written as integers before they become text
(Spark writes 12345678.0 as ``1.2345678E7``).
"""

from __future__ import annotations

import functools
import re

from ..errors import EngineError
from .session import INSTALL_HINT

__all__ = ["to_spark"]


def _sqlglot():
    try:
        import sqlglot
    except ImportError:
        raise EngineError(f"the Spark engine needs SQLGlot, which is not installed: {INSTALL_HINT}") from None
    return sqlglot


def _try_strptime(node):
    """``TRY_STRPTIME(v, fmt)`` -> ``TRY_TO_TIMESTAMP(v, spark_fmt)``; other nodes unchanged."""
    from sqlglot import exp

    if not (isinstance(node, exp.Anonymous) and str(node.this).upper() == "TRY_STRPTIME"):
        return node
    value, fmt = node.expressions
    # The format exactly as SQLGlot writes it for STRPTIME, so that detection and parsing agree.
    strict = exp.StrToTime(this=exp.column("v"), format=fmt.copy()).sql(dialect="spark")
    found = re.fullmatch(r"TO_TIMESTAMP\(v, '((?:[^']|'')*)'\)", strict)
    if found is None:   # pragma: no cover - a SQLGlot that writes STRPTIME otherwise
        raise EngineError(f"cannot translate the date format {fmt.sql()} to Spark ({strict})")
    spark_format = exp.Literal.string(found.group(1).replace("''", "'"))
    return exp.Anonymous(this="TRY_TO_TIMESTAMP", expressions=[value, spark_format])


def _inline_ctes(tree):
    """The query with each CTE's body in place of every reference to it (as a subquery
    keeping the reference's alias, or the CTE's name)."""
    from sqlglot import exp

    with_ = tree.args.get("with_")
    if with_ is None:
        return tree
    tree.set("with_", None)
    bodies: dict[str, object] = {}

    def inline(node):
        if isinstance(node, exp.Table) and not node.args.get("db") and node.name in bodies:
            alias = exp.TableAlias(this=exp.to_identifier(node.alias or node.name))
            return exp.Subquery(this=bodies[node.name].copy(), alias=alias)
        return node

    for cte in with_.expressions:
        bodies[cte.alias] = cte.this.transform(inline)
    return tree.transform(inline)


@functools.lru_cache(maxsize=256)
def to_spark(sql: str) -> str:
    """One DuckDB SQL statement as Spark SQL.

    Parameters
    ----------
    sql : str
        A query written for DuckDB (`custseg.transactions.lines_query`, ...).

    Returns
    -------
    str

    Examples
    --------
    >>> to_spark("SELECT DATE_DIFF('day', a, b) AS d FROM t")
    'SELECT DATEDIFF(DAY, a, b) AS d FROM t'
    """
    sqlglot = _sqlglot()
    from sqlglot.errors import ErrorLevel

    tree = _inline_ctes(sqlglot.parse_one(sql, read="duckdb")).transform(_try_strptime)
    return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
