"""The local engine's DuckDB SQL as Spark SQL: the rules are written once.

`to_spark` transpiles with SQLGlot (``read="duckdb", write="spark"``), refusing anything
SQLGlot cannot express in Spark SQL, plus two documented transforms of the syntax tree:

* ``STRPTIME(text, '%d/%m/%Y')`` becomes ``TO_TIMESTAMP(text, 'd/M/yyyy')`` and
  ``TRY_STRPTIME`` (NULL when the text does not parse; SQLGlot leaves it as it is)
  ``TRY_TO_TIMESTAMP``, with the format translated by `spark_date_format`. Like DuckDB's
  ``%d``, Spark's ``d`` reads ``1`` and ``01``; SQLGlot before 30.x wrote ``dd``, which reads
  only ``01``, so the translation is custseg's own, for the formats of
  `custseg.logs.typed_lines.DATE_FORMATS`.
* Common table expressions (``WITH marked AS (...)``) are inlined as subqueries in FROM.
  Spark plans both the same way, but Spark 4.3 does not use a cached DataFrame that a CTE
  reads through a temporary view: the features query re-read and re-deduplicated the whole
  file (measured on Online Retail: 45 s instead of a few) where the same query with
  subqueries reads the cached lines.

* ``COUNT(DISTINCT x)`` (with or without ``FILTER (WHERE c)``) in a SELECT with GROUP BY
  becomes ``SIZE(COLLECT_SET(x))`` (``SIZE(COLLECT_SET(CASE WHEN c THEN x END))``): the
  same number (both leave NULLs out, both give 0 for a group without a value). Spark plans
  several distinct counts of one GROUP BY with an ``Expand`` that copies every row once per
  distinct count and shuffles the copies twice; the sets are kept per group, as DuckDB's
  hash aggregate keeps them, in one pass and one shuffle. A global ``COUNT(DISTINCT x)``
  (no GROUP BY) stays: Spark's plan for it is a grouping by ``x``, and one set would hold
  every value.

What the two engines would otherwise do differently is settled in the DuckDB SQL itself:
TRIM names the characters it removes (`custseg.logs.sqltext`; Spark's TRIM removes only the
ASCII space), and whole-number float ids are written as integers (`custseg.logs.typed_lines`)
before they become text (Spark writes 12345678.0 as ``1.2345678E7``).
"""

from __future__ import annotations

import functools
import re

from ...errors import EngineError
from .session import INSTALL_HINT

__all__ = ["to_spark"]


def _sqlglot():
    try:
        import sqlglot
    except ImportError:
        raise EngineError(f"the Spark engine needs SQLGlot, which is not installed: {INSTALL_HINT}") from None
    return sqlglot


#: strftime directives of `custseg.logs.typed_lines.DATE_FORMATS` -> Spark datetime patterns;
#: numbers as few digits as they come (``d`` reads 1 and 01, as DuckDB's ``%d`` does).
_SPARK_DATE = {"%Y": "yyyy", "%y": "yy", "%m": "M", "%d": "d", "%H": "H", "%M": "m", "%S": "s",
               "%b": "MMM", "%B": "MMMM"}
#: The same where two numbers touch (``%Y%m%d``): fixed widths tell where one ends.
_SPARK_DATE_FIXED = {**_SPARK_DATE, "%m": "MM", "%d": "dd", "%H": "HH", "%M": "mm", "%S": "ss"}


def spark_date_format(fmt: str) -> str:
    """A strftime format (``%m/%d/%Y %H:%M``) as a Spark datetime pattern (``M/d/yyyy H:m``).

    Letters that are not directives are quoted; a directive outside `_SPARK_DATE` is refused.

    Examples
    --------
    >>> spark_date_format("%Y%m%d"), spark_date_format("%d %b %Y")
    ('yyyyMMdd', 'd MMM yyyy')
    """
    tokens = re.findall(r"%.|[^%]", fmt)
    numbers = {"%Y", "%y", "%m", "%d", "%H", "%M", "%S"}
    touching = any(a in numbers and b in numbers for a, b in zip(tokens, tokens[1:]))
    mapping = _SPARK_DATE_FIXED if touching else _SPARK_DATE
    out = []
    for token in tokens:
        if token.startswith("%"):
            if token not in mapping:
                raise EngineError(f"the date format {fmt!r} has {token}, which the Spark engine does not translate")
            out.append(mapping[token])
        elif token.isalpha() or token == "'":
            out.append("''" if token == "'" else f"'{token}'")
        else:
            out.append(token)
    return "".join(out)


def _strptime(node):
    """``STRPTIME``/``TRY_STRPTIME(v, fmt)`` -> ``TO_TIMESTAMP``/``TRY_TO_TIMESTAMP(v, pattern)``."""
    from sqlglot import exp

    if isinstance(node, exp.StrToTime):
        name, value, fmt = "TO_TIMESTAMP", node.this, node.args["format"]
    elif isinstance(node, exp.Anonymous) and str(node.this).upper() == "TRY_STRPTIME":
        name, (value, fmt) = "TRY_TO_TIMESTAMP", node.expressions
    else:
        return node
    if not fmt.is_string:
        raise EngineError(f"the Spark engine needs a literal date format, not {fmt.sql()}")
    pattern = exp.Literal.string(spark_date_format(fmt.this))
    return exp.Anonymous(this=name, expressions=[value.copy(), pattern])


def _is_count_distinct(node) -> bool:
    from sqlglot import exp

    return (isinstance(node, exp.Count) and isinstance(node.this, exp.Distinct)
            and len(node.this.expressions) == 1)


def _distinct_count_as_set(node):
    """``COUNT(DISTINCT x) [FILTER (WHERE c)]`` in a grouped SELECT -> ``SIZE(COLLECT_SET(...))``."""
    from sqlglot import exp

    if isinstance(node, exp.Filter) and _is_count_distinct(node.this):
        value = exp.Case(ifs=[exp.If(this=node.expression.this.copy(), true=node.this.this.expressions[0].copy())])
    elif _is_count_distinct(node) and not isinstance(node.parent, exp.Filter):
        value = node.this.expressions[0].copy()
    else:
        return node
    select = node.find_ancestor(exp.Select)
    if select is None or not select.args.get("group"):
        return node
    return exp.func("SIZE", exp.func("COLLECT_SET", value))


def _inline_ctes(tree):
    """The query with each CTE's body in place of every reference to it (as a subquery
    keeping the reference's alias, or the CTE's name)."""
    from sqlglot import exp

    key = "with_" if "with_" in tree.args else "with"     # SQLGlot 28 renamed it
    with_ = tree.args.get(key)
    if with_ is None:
        return tree
    tree.set(key, None)
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
        A query written for DuckDB (`custseg.logs.rules.lines_query`, ...).

    Returns
    -------
    str

    Examples
    --------
    >>> to_spark("SELECT DATE_DIFF('day', a, b) AS d FROM t")
    'SELECT DATEDIFF(DAY, a, b) AS d FROM t'
    >>> to_spark("SELECT c, COUNT(DISTINCT o) FILTER (WHERE p) AS n FROM t GROUP BY c")
    'SELECT c, SIZE(COLLECT_SET(CASE WHEN p THEN o END)) AS n FROM t GROUP BY c'
    >>> to_spark("SELECT COUNT(DISTINCT c) AS n FROM t")
    'SELECT COUNT(DISTINCT c) AS n FROM t'
    """
    sqlglot = _sqlglot()
    from sqlglot.errors import ErrorLevel

    tree = _inline_ctes(sqlglot.parse_one(sql, read="duckdb")).transform(_strptime).transform(_distinct_count_as_set)
    return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
