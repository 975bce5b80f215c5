"""Mutations of real sample files for the fuzz suites (tests/test_fuzz_*.py).

A mutation is a list of ``(operator name, seed)`` pairs drawn by hypothesis; each operator
rewrites the file's bytes using ``random.Random(seed)`` for its positions and values, so a
failing case shrinks to a few named operators and prints in a form that replays exactly
(:func:`apply`). Operators work on bytes (truncation, flips, garbage, gzip, encodings, line
ends) and on the CSV structure (columns swapped / dropped / duplicated, rows duplicated /
reordered, hostile cell values: huge, infinite, negative, empty, non-ASCII, quotes).
"""

from __future__ import annotations

import gzip
import json
import random
import zlib

from hypothesis import strategies as st

# values a hostile or broken export puts in a cell
HOSTILE = [
    "", " ", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e308", "-1e308", "1e400",
    "1.7976931348623157e308", "4.9e-324", str(2**63), str(2**63 - 1), str(-(2**63) - 1),
    str(2**64), "99999999999999999999999", "0", "-0", "0.0", "-1", "-5.5", "1e-300", "abc",
    "2020-13-45", "9999-12-31", "0000-00-00", "1970-01-01", "1677-09-21", "2262-04-12",
    "2262-04-12 23:47:16.854775808", "20121301", "13/13/2013", "\"", "\"quoted, cell\"",
    "'", "NULL", "None", "null", "N/A", ".", "-", "true", "false", "é", "ä€", "１２３",
    "0x10", "1_000", "+5", ".5", "5.", "1,5", "1.2.3", "--1", "1e", "e5", "\\", "\t",
    "\x00", "💥", "<script>alert(1)</script>", "=cmd|' /C calc'!A0", "%s%s%n",
]  # fmt: skip

_SEPARATORS = (b",", b";", b"\t", b"|", b" ")


def _split_lines(data: bytes) -> tuple[list[bytes], bytes]:
    eol = b"\r\n" if b"\r\n" in data[:4096] else b"\n"
    return data.split(eol), eol


def _sep(lines: list[bytes]) -> bytes:
    head = lines[:5]
    return max(_SEPARATORS, key=lambda s: sum(ln.count(s) for ln in head))


def _cells(data: bytes) -> tuple[list[list[bytes]], bytes, bytes]:
    lines, eol = _split_lines(data)
    sep = _sep(lines)
    return [ln.split(sep) for ln in lines], sep, eol


def _join(rows: list[list[bytes]], sep: bytes, eol: bytes) -> bytes:
    return eol.join(sep.join(r) for r in rows)


def _body_range(rows: list) -> tuple[int, int]:
    """Indices of data rows (skip the first line as a possible header, and a final empty)."""
    end = len(rows) - 1 if rows and rows[-1] in ([b""], b"") else len(rows)
    return (1 if len(rows) > 1 else 0), max(end, 1)


# --- byte-level -------------------------------------------------------------------------------
def truncate(data, r):
    return data[: r.randrange(len(data) + 1)]


def truncate_tail(data, r):  # cut a few bytes off the end: a half-written last line
    return data[: max(0, len(data) - r.randint(1, 12))]


def flip_bytes(data, r):
    b = bytearray(data)
    for _ in range(r.randint(1, 8)):
        if b:
            b[r.randrange(len(b))] ^= 1 << r.randrange(8)
    return bytes(b)


def insert_bytes(data, r):
    chunk = r.choice([b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b",", b"\n", b"\r", b'"', b"\x1f\x8b",
                      bytes(r.randrange(256) for _ in range(r.randint(1, 16)))])
    i = r.randrange(len(data) + 1)
    return data[:i] + chunk + data[i:]


def delete_slice(data, r):
    if not data:
        return data
    i = r.randrange(len(data))
    return data[:i] + data[i + r.randint(1, 64) :]


def garbage(data, r):
    return bytes(r.randrange(256) for _ in range(r.randint(0, 512)))


def empty(data, r):
    return r.choice([b"", b"\n", b"\r\n\r\n", b"   \n\t\n", b"\xef\xbb\xbf", b"\xff\xfe"])


def header_only(data, r):
    lines, eol = _split_lines(data)
    keep = 2 if lines and lines[0].lower().startswith(b"http") else 1
    return eol.join(lines[:keep]) + (eol if r.random() < 0.5 else b"")


def gzip_it(data, r):
    return gzip.compress(data, mtime=0)


def gzip_garbage(data, r):
    return gzip.compress(garbage(data, r), mtime=0)


def gzip_truncated(data, r):
    z = gzip.compress(data, mtime=0)
    return z[: r.randrange(2, max(3, len(z)))]


def zlib_not_gzip(data, r):
    return b"\x1f\x8b" + zlib.compress(data)[2:]


# --- encodings and line ends ------------------------------------------------------------------
def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def utf16_bom(data, r):
    return _text(data).encode("utf-16", errors="surrogatepass")  # little-endian with a BOM


def utf16_nobom(data, r):
    return _text(data).encode(r.choice(["utf-16-le", "utf-16-be"]), errors="surrogatepass")


def latin1_accents(data, r):
    t = _text(data)
    i = r.randrange(len(t) + 1)
    t = t[:i] + r.choice(["é", "ü", "£", "°", "µ", "Zürich"]) + t[i:]
    return t.encode("latin-1", errors="replace")


def utf8_bom(data, r):
    return b"\xef\xbb\xbf" + data


def crlf(data, r):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def cr_only(data, r):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")


def mixed_eol(data, r):
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    out = b""
    for ln in lines[:-1]:
        out += ln + r.choice([b"\n", b"\r\n", b"\r", b"\n\n"])
    return out + lines[-1]


def change_separator(data, r):
    rows, sep, eol = _cells(data)
    return _join(rows, r.choice([s for s in _SEPARATORS if s != sep]), eol)


# --- CSV structure -----------------------------------------------------------------------------
def _columns(data):
    """(rows of cells, separator, line end, widest row's cell count)."""
    rows, sep, eol = _cells(data)
    return rows, sep, eol, max((len(x) for x in rows), default=0)


def swap_columns(data, r):
    rows, sep, eol, width = _columns(data)
    if width < 2:
        return data
    i, j = r.sample(range(width), 2)
    for row in rows:
        if len(row) > max(i, j):
            row[i], row[j] = row[j], row[i]
    return _join(rows, sep, eol)


def drop_column(data, r):
    rows, sep, eol, width = _columns(data)
    if width < 2:
        return data
    i = r.randrange(width)
    header_only_ = r.random() < 0.2  # a header that lost a name, rows that did not
    for k, row in enumerate(rows):
        if len(row) > i and (k == 0 or not header_only_):
            del row[i]
    return _join(rows, sep, eol)


def duplicate_column(data, r):
    rows, sep, eol, width = _columns(data)
    if width < 1:
        return data
    i = r.randrange(width)
    for row in rows:
        if len(row) > i:
            row.insert(i, row[i])
    return _join(rows, sep, eol)


def rename_header(data, r):
    rows, sep, eol = _cells(data)
    if not rows or not rows[0]:
        return data
    i = r.randrange(len(rows[0]))
    cell = rows[0][i]
    rows[0][i] = r.choice([cell.upper(), cell.lower(), b" " + cell + b" ", b"", b"x" + cell,
                           b'"' + cell + b'"', cell + cell, "é".encode()])
    return _join(rows, sep, eol)


def duplicate_rows(data, r):
    lines, eol = _split_lines(data)
    a, b = _body_range(lines)
    if b <= a:
        return data
    i = r.randrange(a, b)
    lines[i:i] = [lines[i]] * r.randint(1, 3)
    return eol.join(lines)


def drop_rows(data, r):
    lines, eol = _split_lines(data)
    a, b = _body_range(lines)
    if b <= a:
        return data
    i = r.randrange(a, b)
    del lines[i : i + r.randint(1, 5)]
    return eol.join(lines)


def shuffle_rows(data, r):
    lines, eol = _split_lines(data)
    a, b = _body_range(lines)
    body = lines[a:b]
    how = r.randrange(3)
    if how == 0:
        r.shuffle(body)
    elif how == 1:
        body.reverse()
    elif len(body) > 1:
        i, j = r.sample(range(len(body)), 2)
        body[i], body[j] = body[j], body[i]
    return eol.join(lines[:a] + body + lines[b:])


def hostile_cell(data, r):
    rows, sep, eol = _cells(data)
    a, b = _body_range(rows)
    if b <= a:
        return data
    row = rows[r.randrange(a, b)]
    if not row:
        return data
    row[r.randrange(len(row))] = r.choice(HOSTILE).encode("utf-8", errors="surrogateescape")
    return _join(rows, sep, eol)


def _set_column(data, r, new_cell):
    """Rewrite one random column of every data row with ``new_cell(old cell)``."""
    rows, sep, eol = _cells(data)
    a, b = _body_range(rows)
    width = max((len(x) for x in rows[a:b]), default=0)
    if width == 0:
        return data
    i = r.randrange(width)
    for row in rows[a:b]:
        if len(row) > i:
            row[i] = new_cell(row[i])
    return _join(rows, sep, eol)


def hostile_column(data, r):
    value = r.choice(HOSTILE).encode("utf-8", errors="surrogateescape")
    return _set_column(data, r, lambda cell: value)


def negate_column(data, r):
    how = r.choice(["minus", "zero", "huge", "minus zero"])
    return _set_column(data, r, lambda cell: {"minus": b"-" + cell, "zero": b"0", "huge": b"1e300",
                                              "minus zero": b"-0"}[how])


def long_line(data, r):
    lines, eol = _split_lines(data)
    i = r.randrange(len(lines))
    lines[i] = lines[i] + (b"," * r.choice([1, 50, 5000])) + b"x" * r.choice([0, 10, 100_000])
    return eol.join(lines)


def json_value(data, r):
    """Replace one value (or drop one key) inside a ``<ns> {json}`` line (Binance captures)."""
    lines, eol = _split_lines(data)
    idx = [i for i, ln in enumerate(lines) if b" {" in ln]
    if not idx:
        return data
    i = r.choice(idx)
    head, _, body = lines[i].partition(b" ")
    try:
        obj = json.loads(body)
    except ValueError:
        return data
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append((path, k))
                walk(v, path + [k])
        elif isinstance(node, list):
            for k, v in enumerate(node[:4]):
                paths.append((path, k))
                walk(v, path + [k])

    walk(obj, [])
    if not paths:
        return data
    path, key = r.choice(paths)
    parent = obj
    for p in path:
        parent = parent[p]
    value = r.choice([None, -1, 0, 1e308, -1e308, 2**64, 2**63, -(2**63) - 1, True, "abc", "",
                      "-5", "1e400", "NaN", [], {}, [["1", "2", "3"]], ["1"], 1.5, "63943.90"])
    if isinstance(parent, dict) and r.random() < 0.25:
        parent.pop(key, None)
    else:
        parent[key] = value
    text = json.dumps(obj, allow_nan=True)
    if r.random() < 0.2:
        text = text.replace("1e+308", "Infinity")
    lines[i] = head + b" " + text.encode()
    return eol.join(lines)


OPERATORS = {f.__name__: f for f in (
    truncate, truncate_tail, flip_bytes, insert_bytes, delete_slice, garbage, empty, header_only,
    gzip_it, gzip_garbage, gzip_truncated, zlib_not_gzip, utf16_bom, utf16_nobom, latin1_accents,
    utf8_bom, crlf,
    cr_only, mixed_eol, change_separator, swap_columns, drop_column, duplicate_column,
    rename_header, duplicate_rows, drop_rows, shuffle_rows, hostile_cell, hostile_column,
    negate_column, long_line, json_value,
)}  # fmt: skip

# how often each operator is drawn: mostly content changes that keep a file parseable-looking,
# then damage, encodings and line ends, then files that are destroyed outright
_WEIGHTS = {
    "hostile_cell": 10, "hostile_column": 3, "negate_column": 2, "swap_columns": 2,
    "drop_column": 2, "duplicate_column": 2, "rename_header": 1, "duplicate_rows": 2,
    "drop_rows": 2, "shuffle_rows": 2, "truncate": 2, "truncate_tail": 2, "flip_bytes": 2,
    "insert_bytes": 1, "delete_slice": 1, "crlf": 2, "utf8_bom": 2, "utf16_bom": 2,
    "gzip_it": 2, "utf16_nobom": 1, "latin1_accents": 1, "cr_only": 1, "mixed_eol": 1,
    "garbage": 1, "empty": 1, "header_only": 1, "gzip_garbage": 1, "gzip_truncated": 1,
    "zlib_not_gzip": 1, "change_separator": 1, "long_line": 1,
}  # fmt: skip
_WEIGHTED = [name for name, w in _WEIGHTS.items() for _ in range(w)]

def benign(ops) -> bool:
    """True when ``ops`` keep the file's meaning, so a reader must return exactly what it
    returns for the seed: CRLF line ends, then a UTF-8 BOM or UTF-16 with a BOM, then gzip,
    each at most once and in that order (other orders damage: CRLF inside UTF-16 bytes)."""
    names = [name for name, _ in ops]
    order = ["crlf", "utf8_bom|utf16_bom", "gzip_it"]
    pos = 0
    for name in names:
        while pos < len(order) and name not in order[pos].split("|"):
            pos += 1
        if pos == len(order):
            return False
        pos += 1
    return True


def mutations(*, json_lines: bool = False, max_ops: int = 3):
    """Hypothesis strategy: a list of (operator, seed) pairs."""
    names = _WEIGHTED + (["json_value"] * 25 if json_lines else [])
    return st.lists(st.tuples(st.sampled_from(names), st.integers(0, 2**32 - 1)),
                    min_size=1, max_size=max_ops)


def apply(data: bytes, ops) -> bytes:
    """Apply the operators in order (what a failing example prints replays with this)."""
    for name, seed in ops:
        data = OPERATORS[name](data, random.Random(seed))
    return data
