"""What the preparing stage needs from a run's settings, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class CleanOptions:
    """How a customer table is read into roles and cleaned.

    The fields mean what the fields of the same name of `custseg.settings.Settings` mean:
    ``id_col``, ``features`` and ``exclude`` override the guessed roles; ``sentinels``,
    ``date_format`` and ``as_of`` shape codes for missing and derived dates; ``missing``,
    ``outliers`` and ``categoricals`` are the policies.

    Examples
    --------
    >>> from custseg.settings import Settings
    >>> CleanOptions.from_settings(Settings(missing="drop"), id_col="CustomerID").id_col
    'CustomerID'
    """

    id_col: str | None = None
    features: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    missing: str = "impute"
    outliers: str = "clip"
    as_of: str | None = None
    date_format: str | None = None
    sentinels: tuple[str, ...] = ()
    categoricals: str = "describe"

    @classmethod
    def from_settings(cls, settings, **changes) -> "CleanOptions":
        """The options a run's (validated) settings give, with ``changes`` applied."""
        return replace(cls(**{f.name: getattr(settings, f.name) for f in fields(cls)}), **changes)
