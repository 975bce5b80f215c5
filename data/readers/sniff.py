"""Open text data files safely and describe their shape before the fast parser runs.

:func:`sniff` looks at the first lines of a CSV-like file (plain or gzip) and reports the
compression, encoding, banner lines (CryptoDataDownload puts a URL first), header, separator
and field count, so readers can hand polars exact options. :func:`diagnose` is the slow,
precise pass readers call only when the fast parser fails: it finds the first line that is
wrongly encoded, has the wrong number of fields, or is cut off, and raises a
:class:`~data.errors.DataError` naming it.

Row numbers in errors are 1-based line numbers of the (decompressed) file, as an editor shows.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import re
import zlib
from pathlib import Path

import polars as pl

from data.errors import DataError

_SNIFF_BYTES = 1 << 16

# what polars (and the OS) raise on a damaged file: polars' Rust panics surface as
# PanicException, a BaseException that `except Exception` does not catch
READ_ERRORS = (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError)
_NUMERIC = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


@dataclasses.dataclass(frozen=True)
class FileInfo:
    """What :func:`sniff` found about a text data file."""

    path: Path
    gzip: bool
    encoding: str  # "utf8" or a Python codec name the bytes need ("utf-16", "latin-1")
    bom: bool
    banner_lines: int  # non-data lines before the header (URLs, titles)
    header: list[str] | None  # column names, None if the first line is data
    separator: str
    n_fields: int  # fields in the first data line
    crlf: bool

    @property
    def first_data_line(self) -> int:
        """1-based line number of the first data row."""
        return self.banner_lines + (2 if self.header is not None else 1)


def open_bytes(path: str | Path, limit: int | None = None) -> bytes:
    """Raw (decompressed) bytes of a file, optionally only the first ``limit`` bytes."""
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", file=str(path), fix="check the path")
    if path.is_dir():
        raise DataError("path is a folder, not a file", file=str(path), fix="pass a data file")
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic != b"\x1f\x8b":
        with open(path, "rb") as fh:
            return fh.read() if limit is None else fh.read(limit)
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read() if limit is None else fh.read(limit)
    except (EOFError, OSError, zlib.error) as exc:
        if limit is not None:  # a partial read of a truncated stream: return what decompresses
            return _partial_gunzip(path, limit)
        raise DataError(
            f"gzip file is truncated or corrupt ({exc})",
            file=str(path),
            fix="re-download or re-compress the file (gzip -t FILE checks it)",
        ) from None


def _partial_gunzip(path: Path, limit: int) -> bytes:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = io.BytesIO()
    with open(path, "rb") as fh:
        while out.tell() < limit:
            block = fh.read(1 << 16)
            if not block:
                break
            try:
                out.write(d.decompress(block))
            except zlib.error:
                break
    return out.getvalue()[:limit]


def decode(raw: bytes, path: str | Path, encoding: str | None = None) -> tuple[str, str, bool]:
    """Decode bytes to text; returns (text, encoding used, had BOM). Raises on undecodable bytes.

    UTF-8 (with or without BOM) and UTF-16 with a BOM are accepted; anything else needs an
    explicit ``encoding`` (e.g. ``"latin-1"``), and the error names the first bad line. Text
    holding NUL characters (binary data, UTF-16 without a byte-order mark) or lines ending in a
    bare carriage return (classic Mac), which the CSV parser would misread, is refused too.
    """
    text, enc, bom = _decode(raw, path, encoding)
    _check_text(text, path)
    return text, enc, bom


def _check_text(text: str, path: str | Path) -> None:
    nul = text.find("\x00")
    if nul >= 0:
        raise DataError(
            "file holds NUL characters (binary data, or UTF-16 text without a byte-order mark)",
            file=str(path),
            row=text.count("\n", 0, nul) + 1,
            value=text[max(0, nul - 10) : nul + 10],
            fix="pass the right encoding (e.g. encoding='utf-16-le') or convert the file to UTF-8",
        )
    m = _BARE_CR.search(text)
    if m:
        raise DataError(
            "line ends are a bare carriage return (CR without LF), which CSV parsers misread",
            file=str(path),
            row=len(text[: m.start() + 1].splitlines()),
            fix="convert the line ends to LF or CRLF (e.g. tr '\\r' '\\n' < in > out)",
        )


_BARE_CR = re.compile(r"\r(?!\n)(?=.)", re.S)  # a CR not followed by LF, not the last char


def _decode(raw: bytes, path: str | Path, encoding: str | None) -> tuple[str, str, bool]:
    if encoding:
        try:
            return raw.decode(encoding), encoding, False
        except (UnicodeDecodeError, LookupError) as exc:
            raise DataError(
                f"cannot decode the file as {encoding}",
                file=str(path),
                argument="encoding",
                value=encoding,
                fix="pass the file's real encoding (utf-8, latin-1, utf-16)",
            ) from exc
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return raw.decode("utf-16"), "utf-16", True
        except UnicodeDecodeError as exc:
            if exc.start >= len(raw) - 4:  # a character cut at the end of a partial read
                return raw[: exc.start].decode("utf-16"), "utf-16", True
            line = raw[: exc.start].decode("utf-16", errors="replace").count("\n") + 1
            raise DataError(
                "file starts with a UTF-16 byte-order mark but is not valid UTF-16",
                file=str(path),
                row=line,
                value=raw[max(0, exc.start - 10) : exc.start + 10],
                fix="re-export the file (UTF-8 preferred); it is damaged or mixes encodings",
            ) from None
    bom = raw[:3] == b"\xef\xbb\xbf"
    try:
        return raw.decode("utf-8-sig"), "utf8", bom
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        if exc.start >= len(raw) - 3:  # a multi-byte character cut at the end of a partial read
            return raw[: exc.start].decode("utf-8-sig"), "utf8", bom
        bad = raw[max(0, exc.start - 10) : exc.start + 10]
        raise DataError(
            "file is not valid UTF-8 (wrong encoding)",
            file=str(path),
            row=line,
            value=bad,
            fix="convert it to UTF-8 (iconv -f latin1 -t utf-8) or pass encoding='latin-1'",
        ) from None


def sniff(
    path: str | Path, *, separator: str | None = None, encoding: str | None = None
) -> FileInfo:
    """Describe a CSV-like file from its first 64 KiB."""
    path = Path(path)
    head = open_bytes(path, _SNIFF_BYTES)
    is_gzip = _is_gzip(path)
    if not head.strip():
        raise DataError("file is empty", file=str(path), fix="check the download or the path")
    text, enc, bom = decode(head, path, encoding)
    if not text.strip():  # a byte-order mark or UTF-16 white space only
        raise DataError("file is empty (no text after the byte-order mark)", file=str(path),
                        fix="check the download or the path")
    crlf = "\r\n" in text[:4096]
    lines = text.splitlines()
    if len(head) == _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last sniffed line may be cut by the byte limit
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        raise DataError(
            f"no complete line in the first {_SNIFF_BYTES // 1024} KiB of the file",
            file=str(path),
            row=1,
            fix="check the file: a header or first row that long is not a data table",
        )
    sep = separator or _guess_separator(lines[:20])
    banner = 0
    while banner < len(lines) - 1 and _is_banner(lines[banner], sep, lines[banner + 1]):
        banner += 1
    first = _split(lines[banner], sep)
    header: list[str] | None = first
    if all(_NUMERIC.match(f) or not f.strip() for f in first):
        header = None  # headerless numeric file (LOBSTER)
    data_idx = banner + (1 if header is not None else 0)
    n_fields = len(_split(lines[data_idx], sep)) if data_idx < len(lines) else len(first)
    if header is not None:
        header = [h.strip().strip('"').strip() for h in header]
    return FileInfo(
        path=path,
        gzip=is_gzip,
        encoding=enc,
        bom=bom,
        banner_lines=banner,
        header=header,
        separator=sep,
        n_fields=n_fields,
        crlf=crlf,
    )


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _guess_separator(lines: list[str]) -> str:
    best, score = ",", -1
    for sep in (",", ";", "\t", "|", " "):
        counts = [ln.count(sep) for ln in lines[1:] or lines]
        if counts and min(counts) > 0 and len(set(counts)) == 1 and counts[0] > score:
            best, score = sep, counts[0]
    if score < 0:
        for sep in (",", ";", "\t", "|"):
            if any(sep in ln for ln in lines):
                return sep
    return best


def _is_banner(line: str, sep: str, nxt: str) -> bool:
    low = line.strip().lower()
    if low.startswith(("http://", "https://", "www.")):
        return True
    return line.count(sep) == 0 and nxt.count(sep) > 0


def _split(line: str, sep: str) -> list[str]:
    return line.split(sep) if sep != " " else line.split()


def diagnose(info: FileInfo, *, required: list[str] | None = None) -> None:
    """Scan the whole file line by line and raise a precise DataError for the first bad line.

    Checks: decodable text, consistent field counts (naming a cut-off last line as a truncated
    file), and, for ``required`` header columns, that they exist. Returns None if nothing is wrong.
    """
    raw = open_bytes(info.path)
    text, _, _ = decode(raw, info.path, None if info.encoding == "utf8" else info.encoding)
    lines = text.splitlines()
    if required and info.header is not None:
        missing = [c for c in required if c not in info.header]
        if missing:
            raise DataError(
                f"missing column(s) {missing}",
                file=str(info.path),
                column=missing[0],
                value=info.header,
                fix="rename the column or pass a mapping (file column -> canonical field)",
            )
    start = info.first_data_line - 1
    want = len(info.header) if info.header is not None else info.n_fields
    if info.header is not None and info.n_fields == len(info.header) + 1:
        want = info.n_fields  # backtrader: header names Date,... while rows carry date,time,...
    last = len(lines) - 1
    while last >= start and not lines[last].strip():
        last -= 1
    for i in range(start, last + 1):
        line = lines[i]
        if not line.strip():
            continue
        n = len(_split(line, info.separator))
        if n != want:
            if i == last and n < want and not text.endswith(("\n", "\r")):
                raise DataError(
                    f"file is truncated: the last line has {n} of {want} fields and no line end",
                    file=str(info.path),
                    row=i + 1,
                    value=line,
                    fix="re-download the file, or delete the incomplete last line",
                )
            raise DataError(
                f"line has {n} fields, expected {want}",
                file=str(info.path),
                row=i + 1,
                value=line,
                fix="fix the line (a stray separator or a missing value), or delete it",
            )
