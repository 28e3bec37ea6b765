"""Reading level text files (every env's text format): UTF-8, with or without a byte-order
mark. Bytes that are not UTF-8 (a Latin-1 letter, a UTF-16 file, binary data) are answered like
every other format error, with ``LevelFormatError`` naming ``file:line:column``."""

from __future__ import annotations

import codecs
from pathlib import Path

from .errors import LevelFormatError


def read_level_text(path: str | Path) -> str:
    """The text of a level file. Raises ``FileNotFoundError`` if there is none, and
    ``LevelFormatError`` for an unreadable file or the first byte that is not UTF-8."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"level file not found: {path}")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise LevelFormatError(f"{path}: cannot read the level file: {error.strerror}") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise LevelFormatError(
            f"{path}:1:1: not UTF-8 text: it starts with a UTF-16 byte-order mark; save it as UTF-8"
        )
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        line = data.count(b"\n", 0, error.start) + 1
        column = len(data[line_start : error.start].decode("utf-8")) + 1
        raise LevelFormatError(
            f"{path}:{line}:{column}: not UTF-8 text (byte 0x{data[error.start]:02x}: "
            f"{error.reason}); save the file as UTF-8"
        ) from None
