"""Checks a feature sheet passes before it is parsed: its size, unpacked, and no NUL bytes.

A feature sheet is small (SFEW.xlsx is about 100 KB; a sheet of 10^5 images a few tens of
MB). A workbook is a zip archive whose members' unpacked sizes are in its directory, read
without unpacking anything: a zip bomb (a few KB that unpack to gigabytes) once took 4.2 GB
before failing with an ``OverflowError``. A CSV is read whole, so its size on disk counts.
A NUL byte never occurs in a text table; a row holding one (a damaged file, a binary file
named ``.csv``) was once kept as a sample.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

__all__ = ["MAX_SHEET_BYTES", "check_sheet_size", "check_text"]

#: Largest feature sheet read: its unpacked size (workbook) or its size (CSV), 256 MiB.
MAX_SHEET_BYTES = 256 * 2**20


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB" if n < 2**30 else f"{n / 2**30:,.1f} GiB"


def check_sheet_size(path: Path, limit: int = MAX_SHEET_BYTES) -> None:
    """Raise ValueError when ``path`` (unpacked, for a workbook) exceeds ``limit`` bytes.

    A file that is not a zip archive passes: the workbook reader reports it.
    """
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            with zipfile.ZipFile(path) as archive:
                size = sum(member.file_size for member in archive.infolist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return
        if size > limit:
            raise ValueError(f"{path.name}: the workbook unpacks to {_mib(size)}, over the "
                             f"{_mib(limit)} a feature sheet may take; not read (a damaged "
                             "file or a zip bomb?)")
        return
    size = path.stat().st_size
    if size > limit:
        raise ValueError(f"{path.name} is {_mib(size)}, over the {_mib(limit)} a feature sheet "
                         "may take; not read")


def check_text(path: Path, text: str) -> None:
    """Raise ValueError naming the first line of ``text`` that holds a NUL byte."""
    at = text.find("\x00")
    if at >= 0:
        line = text.count("\n", 0, at) + 1
        raise ValueError(f"{path.name}: line {line} holds NUL bytes; the file is damaged or "
                         "not a text table")
