"""Pieces of SQL text that the queries of transaction logs are written with: quoted names
and strings, and trimming that both engines do alike.

DuckDB runs the text as it is; the Spark engine transpiles it (`custseg.engines.spark.sql`).
"""

from __future__ import annotations

__all__ = ["SPACES", "sql_identifier", "sql_literal", "sql_trim", "trimmed_text"]

#: The Unicode space separators (category Zs: space, no-break space, ..., ideographic space):
#: what DuckDB's one-argument TRIM removes. Named explicitly because Spark's TRIM removes only
#: the ASCII space; with the characters given, both engines trim the same.
SPACES = " \u00a0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + "\u202f\u205f\u3000"


def sql_identifier(name: str) -> str:
    """A column name as a quoted SQL identifier.

    Examples
    --------
    >>> print(sql_identifier('the "price" column'))
    "the ""price"" column"
    """
    return '"' + str(name).replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    """A string as an SQL string literal.

    Examples
    --------
    >>> print(sql_literal("O'Brien"))
    'O''Brien'
    """
    return "'" + str(value).replace("'", "''") + "'"


def sql_trim(text: str) -> str:
    """SQL that removes `SPACES` from both ends of the text expression ``text``.

    Examples
    --------
    >>> sql_trim("v").startswith("TRIM(v, ' ")
    True
    """
    return f"TRIM({text}, {sql_literal(SPACES)})"


def trimmed_text(name: str) -> str:
    """A column as text without surrounding spaces.

    `sql_trim` removes Unicode space separators (space, no-break space, ...). It runs only on
    values that start or end with a space or hold any non-ASCII character (more bits than 8
    per character): a third of its cost on clean exports, where no value needs it.

    Examples
    --------
    >>> trimmed_text("id").startswith('CASE WHEN CAST("id" AS VARCHAR) LIKE')
    True
    """
    text = f"CAST({sql_identifier(name)} AS VARCHAR)"
    return (
        f"CASE WHEN {text} LIKE ' %' OR {text} LIKE '% ' OR BIT_LENGTH({text}) <> 8 * LENGTH({text}) "
        f"THEN {sql_trim(text)} ELSE {text} END"
    )
