"""Reading JSON files a block at a time, so memory stays flat however large the file is.

``JsonLines`` yields the lines of a JSONL file, split on ``\\n`` only (``str.splitlines`` also
splits on U+0085, U+2028 and U+2029, which are valid inside JSON strings). ``JsonWindow`` walks the
top level of a JSON array or object: the standard library's ``JSONDecoder.raw_decode`` parses each
value from the part of the file read so far, and text already parsed is dropped. ijson streams too
but reports no positions, so its errors could not name the line; here every error does.
A UTF-8 byte-order mark at the start of a file is skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import InputError

BLOCK = 1 << 20  # characters read at a time
WHITESPACE = " \t\r\n"
TOO_DEEP = "arrays or objects nested too deeply to read"
_SURROGATE = re.compile("[\ud800-\udfff]")


def open_text(path: Path) -> IO[str]:
    """The file as text, to be closed by the caller."""
    # newline="" keeps the text as it is: no line-ending translation, no extra line breaks.
    return open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115


def _not_utf8(path: Path, exc: UnicodeDecodeError, line: int) -> InputError:
    return InputError(
        f"{path}:{line}: not UTF-8 text ({exc.reason}). Save the file as UTF-8 and run again."
    )


def json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` for each non-blank line of a JSONL file."""
    number = 0
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):  # binary lines end at b"\n" only
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise _not_utf8(path, exc, number) from exc
            if not line.strip(WHITESPACE):
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{path}:{number}: invalid JSON ({exc.msg} at column {exc.colno}). "
                    "Each line of a JSONL file must be one JSON value."
                ) from exc
            except RecursionError:
                raise InputError(f"{path}:{number}: {TOO_DEEP}. Fix the file.") from None
            yield number, value


class JsonWindow:
    """The text of a JSON file, read forward a block at a time."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle = handle
        self._text = ""
        self._pos = 0
        self._line = 1  # line number of _text[0]
        self._eof = False
        self._decoder = json.JSONDecoder()

    def _fill(self) -> None:
        """Drop the text already parsed and read one more block."""
        self._line += self._text.count("\n", 0, self._pos)
        try:
            block = self._handle.read(BLOCK)
        except UnicodeDecodeError as exc:
            raise _not_utf8(self.path, exc, self._line + self._text.count("\n")) from exc
        self._text = self._text[self._pos :] + block
        self._pos = 0
        self._eof = not block

    def line(self) -> int:
        """The line the next unread character is on."""
        return self._line + self._text.count("\n", 0, self._pos)

    def peek(self) -> str:
        """The next character that is not whitespace ("" at the end of the file)."""
        while True:
            while self._pos < len(self._text) and self._text[self._pos] in WHITESPACE:
                self._pos += 1
            if self._pos < len(self._text) or self._eof:
                return self._text[self._pos : self._pos + 1]
            self._fill()

    def take(self) -> str:
        """The next character that is not whitespace, consumed."""
        char = self.peek()
        self._pos += len(char)
        return char

    def value(self) -> tuple[int, Any]:
        """``(line, value)`` of the next JSON value."""
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._text, self._pos)
            except json.JSONDecodeError as exc:
                if self._eof or not self._cut_short(exc):
                    raise self.error(exc.msg, exc.pos) from exc
                self._fill()
                continue
            except RecursionError:
                raise self.error(TOO_DEEP) from None
            line = self.line()
            self._pos = end
            return line, value

    def _cut_short(self, exc: json.JSONDecodeError) -> bool:
        """Whether the error may only mean that the value goes on past the text read so far."""
        return exc.msg.startswith("Unterminated string") or exc.pos >= len(self._text) - 16

    def error(self, problem: str, pos: int | None = None) -> InputError:
        line = self.line() if pos is None else self._line + self._text.count("\n", 0, pos)
        return InputError(
            f"{self.path}:{line}: invalid JSON ({problem}). Fix the file and run again."
        )


def valid_unicode(text: str) -> str:
    """``text`` with unpaired surrogates (``"\\ud800"`` escapes: valid JSON, not valid Unicode,
    and refused by tokenizers) replaced by U+FFFD, as browsers do."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
