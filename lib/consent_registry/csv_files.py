"""Both ends of the project's CSV files: reading a spreadsheet's export (encoding and
delimiter found from the bytes) and writing a CSV that is safe to open in a spreadsheet.

- Reading (``read_table``): UTF-8 with or without a byte-order mark, UTF-16 with one (Excel's
  "Unicode text"), else Windows-1252, which decodes any byte (what Excel on Windows saves as
  "CSV"). The delimiter is sniffed among comma, semicolon and tab: Excel in a European
  locale saves "CSV" with semicolons. The `consent import` command and the workspace's
  import read through this one function.
- Writing (``csv_text``): every cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return is prefixed with ``'`` (OWASP, "CSV injection"), so a name such as
  ``=HYPERLINK("http://…")`` is shown as text and never run as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# OWASP's list: what makes Excel, LibreOffice or Google Sheets read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DELIMITERS = ",;\t"
SNIFF_BYTES = 16_384


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line number in the file, cells); blank rows left out
    encoding: str  # as people name it: "UTF-8", "UTF-16", "Windows-1252"
    delimiter: str


def decode(raw: bytes) -> tuple[str, str]:
    """The text of a spreadsheet's CSV and the encoding it was read as."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), "Windows-1252"


def delimiter_of(text: str) -> str:
    """The delimiter of a CSV's text: sniffed from its start, a comma when unsure."""
    sample = text[:SNIFF_BYTES]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        pass
    # One column, or a sample the sniffer cannot settle: the header line decides.
    first = sample.split("\n", 1)[0]
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_table(raw: bytes) -> Table:
    """The header and the non-blank rows of a CSV's bytes (an empty file: no header)."""
    text, encoding = decode(raw)
    delimiter = delimiter_of(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])
    rows = [(reader.line_num, cells) for cells in reader if any(c.strip() for c in cells)]
    return Table(header, rows, encoding, delimiter)


def safe_cell(value: object) -> str:
    """A cell's text, prefixed with ' when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[object], rows: Iterable[Sequence[object]], bom: bool = True) -> str:
    """A whole CSV file's text, every cell made safe; with a byte-order mark (``bom``) so
    spreadsheet programs read it as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(c) for c in header])
    writer.writerows([safe_cell(c) for c in row] for row in rows)
    return ("\ufeff" if bom else "") + out.getvalue()
