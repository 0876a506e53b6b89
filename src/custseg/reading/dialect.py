"""The dialect of delimited text, from a sample of its first bytes: the encoding, the sample
decoded, its records, and the delimiter (one of ``, ; TAB |``) that splits them best."""

from __future__ import annotations

import codecs
import csv
import io

__all__ = [
    "DELIMITERS", "choose_delimiter", "delimiter_scores", "encoding_of", "fallback_encodings",
    "looks_delimited", "sample_rows", "sample_text",
]

#: Field delimiters tried, in this order.
DELIMITERS = (",", ";", "\t", "|")


def encoding_of(head: bytes) -> str:
    """Best guess at the encoding from the first bytes.

    Examples
    --------
    >>> encoding_of(b"\\xef\\xbb\\xbfid"), encoding_of("Zoë".encode()), encoding_of("Zoë;".encode("cp1252"))
    ('utf-8-sig', 'utf-8', 'cp1252')
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def fallback_encodings(first: str) -> list[str]:
    """Encodings to try in turn for the full read, starting with the one the head suggests.

    Examples
    --------
    >>> fallback_encodings("utf-8")
    ['utf-8', 'cp1252', 'latin-1']
    """
    if first == "utf-8":
        return ["utf-8", "cp1252", "latin-1"]
    if first == "cp1252":
        return ["cp1252", "latin-1"]
    return [first]


def sample_text(head: bytes, encoding: str, *, truncated: bool) -> str:
    """The head decoded, without its last (possibly cut) line when the file goes on."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text = decoder.decode(head, final=not truncated)
    if truncated:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[: cut + 1] if cut > 0 else text
    return text


def sample_rows(text: str, delimiter: str, limit: int = 500) -> list[tuple[int, list[str]]]:
    """Up to ``limit`` non-blank records of the sample with the line on which each ends.

    Examples
    --------
    >>> sample_rows('id;note\\n1;"a\\nb"\\n\\n2;c\\n', ";")
    [(1, ['id', 'note']), (3, ['1', 'a\\nb']), (5, ['2', 'c'])]
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    rows = []
    try:
        for fields in reader:
            if any(field.strip() for field in fields):
                rows.append((reader.line_num, fields))
                if len(rows) >= limit:
                    break
    except csv.Error:
        pass
    return rows


def delimiter_scores(text: str) -> dict[str, tuple[float, int]]:
    """Per delimiter that splits the header: (share of rows as wide as the header, width)."""
    scores = {}
    for delimiter in DELIMITERS:
        rows = sample_rows(text, delimiter)
        if not rows or len(rows[0][1]) < 2:
            continue
        width = len(rows[0][1])
        body = [len(fields) for _, fields in rows[1:]] or [width]
        scores[delimiter] = (sum(n == width for n in body) / len(body), width)
    return scores


def choose_delimiter(text: str) -> str:
    """csv.Sniffer's delimiter if its rows are as consistent as the best, else the best.

    The best splits the first row in two or more and the most rows below into as many
    fields (ties: the wider split); ``","`` when none splits the first row.

    Examples
    --------
    >>> choose_delimiter("id;income\\n1;52,5\\n2;61,0\\n")
    ';'
    """
    scores = delimiter_scores(text)
    if not scores:
        return ","
    best = max(scores, key=lambda d: scores[d])
    try:
        sniffed = csv.Sniffer().sniff(text, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return best
    if sniffed in scores and scores[sniffed][0] >= scores[best][0]:
        return sniffed
    return best


def looks_delimited(text: str, delimiter: str) -> bool:
    """Whether ``delimiter`` splits the first row and nearly every row as wide (90%)."""
    score = delimiter_scores(text).get(delimiter)
    return score is not None and score[0] >= 0.9
