"""Tables inside ``.zip`` and ``.tar`` archives (``.tar.gz``, ``.tgz``): which files are
archives, and the one table of an archive extracted to a temporary file."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InputError
from .files import SUPPORTED, kind_from_suffix, listed

__all__ = ["ARCHIVE_SUFFIXES", "archive_kind", "unpacked"]

ARCHIVE_SUFFIXES = {".zip": "zip", ".tar": "tar", ".tar.gz": "tar", ".tgz": "tar"}


def archive_kind(file: Path) -> str | None:
    """``"zip"`` or ``"tar"`` for an archive (by its extension), else None.

    A file with no known extension that starts like a zip and is not an Excel workbook is
    a zip archive too.

    Examples
    --------
    >>> archive_kind(Path("export.tgz")), archive_kind(Path("export.csv"))
    ('tar', None)
    """
    name = file.name.lower()
    for suffix, kind in ARCHIVE_SUFFIXES.items():
        if name.endswith(suffix):
            return kind
    if kind_from_suffix(file) is None and zipfile.is_zipfile(file):
        try:
            with zipfile.ZipFile(file) as archive:
                return None if "[Content_Types].xml" in archive.namelist() else "zip"
        except (zipfile.BadZipFile, OSError):
            return None
    return None


def _archive_members(file: Path, kind: str) -> list[str]:
    """Names of the regular files in an archive, without macOS resource forks."""
    try:
        if kind == "zip":
            with zipfile.ZipFile(file) as archive:
                names = [info.filename for info in archive.infolist() if not info.is_dir()]
        else:
            with tarfile.open(file, "r:*") as archive:
                names = [info.name for info in archive.getmembers() if info.isfile()]
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise InputError(f"{file} is not a valid {kind} archive: {exc}") from None
    return [n for n in names if not n.startswith("__MACOSX/") and not Path(n).name.startswith(".")]


def _chosen_member(file: Path, members: list[str], wanted: str | None) -> str:
    """The table to read: ``wanted`` (by path or file name), else the only table."""
    tables = [n for n in members if kind_from_suffix(Path(n)) is not None]
    if wanted is not None:
        exact = [n for n in members if n == wanted]
        by_name = [n for n in members if Path(n).name == wanted]
        if exact or len(by_name) == 1:
            return (exact or by_name)[0]
        choices = listed(tables or members) or "none"
        raise InputError(f"--member {wanted!r} is not in {file}; its tables are: {choices}")
    if len(tables) == 1:
        return tables[0]
    if not tables:
        raise InputError(
            f"{file} holds no table (members: {listed(members) or 'none'}); custseg reads {SUPPORTED}"
        )
    raise InputError(f"{file} holds {len(tables)} tables: {listed(tables)}; choose one with --member NAME")


def _extract(file: Path, kind: str, member: str, target: Path) -> None:
    """Copy one member of an archive to ``target`` (streamed; no path from the archive is used)."""
    try:
        if kind == "zip":
            with zipfile.ZipFile(file) as archive, archive.open(member) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
        else:
            with tarfile.open(file, "r:*") as archive:
                source = archive.extractfile(member)
                with source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, RuntimeError) as exc:
        raise InputError(f"{file}: member {member} could not be extracted: {exc}") from None


@contextmanager
def unpacked(file: str | os.PathLike, member: str | None = None) -> Iterator[tuple[Path, str]]:
    """The table inside an archive, extracted to a temporary file for the ``with`` block.

    Yields the temporary file (named like the member) and the member's name. An `InputError`
    raised inside the block names ``ARCHIVE:MEMBER`` instead of the temporary file.

    Raises
    ------
    InputError
        If the archive is corrupt, holds no table, or several and ``member`` is None, or
        ``member`` is not in it.

    Examples
    --------
    >>> import tempfile, zipfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "export.zip"
    ...     with zipfile.ZipFile(path, "w") as archive:
    ...         archive.writestr("data/customers.csv", "id,spend\\n1,2\\n")
    ...     with unpacked(path) as (inner, member):
    ...         inner.name, member, inner.read_text()
    ('customers.csv', 'data/customers.csv', 'id,spend\\n1,2\\n')
    """
    file = Path(file)
    kind = archive_kind(file)
    if kind is None:
        raise InputError(f"{file} is not a .zip or .tar archive")
    name = _chosen_member(file, _archive_members(file, kind), member)
    with tempfile.TemporaryDirectory(prefix="custseg-member-") as folder:
        inner = Path(folder) / Path(name).name
        _extract(file, kind, name, inner)
        try:
            yield inner, name
        except InputError as exc:
            raise InputError(str(exc).replace(str(inner), f"{file}:{name}")) from None
