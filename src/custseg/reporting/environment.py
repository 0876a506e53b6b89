"""The Jinja environment of the reports: the templates folder beside this module (``templates/``),
autoescaping of everything (files and strings), and the formatters as filters."""

from __future__ import annotations

import functools
from pathlib import Path

from .figures.style import algorithm_label
from .formats import (
    format_condition,
    format_count,
    format_fixed,
    format_money,
    format_number,
    format_part,
    format_percent,
    format_setting,
    format_signed,
)

__all__ = ["jinja_environment"]


@functools.lru_cache(maxsize=1)
def jinja_environment():
    """The reports' Jinja environment, made once (Jinja is imported on first use).

    Examples
    --------
    >>> jinja_environment().from_string("{{ n|count }} & {{ name }}").render(n=1234.4, name="<b>")
    '1,234 & &lt;b&gt;'
    """
    from jinja2 import (
        ChainableUndefined,
        Environment,
        FileSystemLoader,
        select_autoescape,
    )

    env = Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        count=format_count, num=format_number, pct=format_percent, fixed=format_fixed, signed=format_signed,
        money=format_money, part=format_part, algorithm=algorithm_label, setting=format_setting,
        condition=format_condition,
    )
    return env
