"""One normal form for text before anything reads it, with each character's offset in the original.

`normalize(text) -> (normal, offsets)`: Unicode NFKC (full-width, mathematical and ligature forms
folded), invisible and format characters removed (category Cf: zero-width, bidi controls, soft
hyphen, tag characters; variation selectors, the combining grapheme joiner, Hangul fillers, control
characters), look-alike letters folded to Latin (Cyrillic, Greek, Armenian; assistant/data/
confusables.csv), and each run of whitespace made one space, or one line break if it held one.
`offsets[i]` is where `normal[i]` came from in `text`, so evidence and quotes can cite the words as
typed. Normalising twice changes nothing.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

_DATA = Path(__file__).resolve().parent / "data" / "confusables.csv"

_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u034f\u180b\u180c\u180d\u180e\u17b4\u17b5\ufffd")


def _invisible(ch: str) -> bool:
    cp = ord(ch)
    if 32 <= cp < 127 or ch in _LINE_BREAKS or ch == "\t":
        return False
    cat = unicodedata.category(ch)
    return (
        cat in ("Cf", "Cc", "Cs", "Co", "Cn") and not ch.isspace()  # unassigned/private too: nothing to read
        or ch in _FILLERS
        or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF  # variation selectors
    )


@lru_cache(maxsize=1)
def confusables() -> dict[str, str]:
    """Look-alike letter -> the Latin letter it is drawn like (assistant/data/confusables.csv)."""
    rows = [line for line in _DATA.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    table = {}
    for row in csv.DictReader(rows):
        ch = chr(int(row["codepoint"].removeprefix("U+"), 16))
        if not (len(row["latin"]) == 1 and row["latin"].isascii() and row["latin"].isalpha()):
            raise ValueError(f"confusables.csv: {row['codepoint']} must fold to one Latin letter")
        table[ch] = row["latin"]
    return table


Chars = list[tuple[str, int]]  # (character, offset in the original)


def _drop_invisible(chars: Chars) -> Chars:
    return [(c, o) for c, o in chars if not _invisible(c)]


def _nfkc(chars: Chars) -> Chars:
    """NFKC over clusters (a starter and what combines with it), each output char keeping its cluster's offset."""
    if unicodedata.is_normalized("NFKC", "".join(c for c, _ in chars)):
        return chars
    out: Chars = []
    cluster = ""
    start = 0
    offs: list[int] = []

    def flush() -> None:
        if not cluster:
            return
        done = unicodedata.normalize("NFKC", cluster)
        if len(done) == len(cluster):
            out.extend(zip(done, offs))
        else:
            out.extend((c, start) for c in done)

    for ch, off in chars:
        if cluster and (
            (ch.isascii() and cluster[-1].isascii())
            or (unicodedata.combining(ch) == 0
                and unicodedata.normalize("NFKC", cluster) + unicodedata.normalize("NFKC", ch)
                == unicodedata.normalize("NFKC", cluster + ch))
        ):
            flush()
            cluster, offs = "", []
        if not cluster:
            start = off
        cluster += ch
        offs.append(off)
    flush()
    return out


def _fold(chars: Chars) -> Chars:
    table = confusables()
    return [(table.get(c, c), o) for c, o in chars]


def _collapse(chars: Chars) -> Chars:
    out: Chars = []
    for c, o in chars:
        if c.isspace():
            if out and out[-1][0] in " \n":
                if c in _LINE_BREAKS and out[-1][0] == " ":
                    out[-1] = ("\n", out[-1][1])
                continue
            out.append(("\n" if c in _LINE_BREAKS else " ", o))
        else:
            out.append((c, o))
    return out


def _once(chars: Chars) -> Chars:
    return _collapse(_drop_invisible(_fold(_nfkc(_drop_invisible(chars)))))


_ASCII_RUNS = re.compile(r"[\t\n\x0b\x0c\r\x1c-\x1f ]+|[\x00-\x08\x0e-\x1b\x7f]+")


_NOT_NORMAL_ASCII = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]|[ \n][ \n]")


def _ascii(text: str) -> tuple[str, list[int]]:
    """The same for ASCII text, which NFKC and look-alike folding leave alone: only runs to cut or collapse."""
    out: list[str] = []
    offsets: list[int] = []
    at = 0
    last = ""
    for m in _ASCII_RUNS.finditer(text):
        if m.start() > at:
            out.append(text[at:m.start()])
            offsets.extend(range(at, m.start()))
            last = text[m.start() - 1]
        at = m.end()
        run = m.group(0)
        if run[0] < "\x09" or "\x0e" <= run[0] <= "\x1b" or run[0] == "\x7f":
            continue  # control characters: removed
        sep = "\n" if any(c in _LINE_BREAKS for c in run) else " "
        if last in (" ", "\n"):  # a run split by removed control characters is still one run
            if sep == "\n" and last == " ":
                out[-1] = last = "\n"
            continue
        out.append(sep)
        offsets.append(m.start())
        last = sep
    if at < len(text):
        out.append(text[at:])
        offsets.extend(range(at, len(text)))
    return "".join(out), offsets


def normalize(text: str) -> tuple[str, list[int]]:
    """The normal form of `text` and, for each of its characters, the offset it came from in `text`."""
    if text.isascii():
        if not _NOT_NORMAL_ASCII.search(text):
            return text, list(range(len(text)))
        return _ascii(text)
    if _only_spacing(text):  # most text with curly quotes or dashes: nothing but whitespace to collapse
        return _collapse_runs(text)
    return _general(text)


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")


def _only_spacing(text: str) -> bool:
    table = confusables()
    return (
        not _CONTROL.search(text)
        and unicodedata.is_normalized("NFKC", text)
        and not any(not c.isascii() and (_invisible(c) or c in table) for c in text)
    )


_SPACE_RUNS = re.compile(r"\s+")


def _collapse_runs(text: str) -> tuple[str, list[int]]:
    """Whitespace runs made one space (or one line break) in text needing nothing else."""
    out: list[str] = []
    offsets: list[int] = []
    at = 0
    for m in _SPACE_RUNS.finditer(text):
        out.append(text[at:m.start()])
        offsets.extend(range(at, m.start()))
        out.append("\n" if any(c in _LINE_BREAKS for c in m.group(0)) else " ")
        offsets.append(m.start())
        at = m.end()
    out.append(text[at:])
    offsets.extend(range(at, len(text)))
    return "".join(out), offsets


def _general(text: str) -> tuple[str, list[int]]:
    chars: Chars = list(zip(text, range(len(text))))
    for _ in range(6):  # removing or folding a character can let a mark compose anew: repeat to a fixed point
        after = _once(chars)
        if [c for c, _ in after] == [c for c, _ in chars]:
            break
        chars = after
    return "".join(c for c, _ in chars), [o for _, o in chars]


def original_span(offsets: list[int], start: int, end: int, length: int) -> tuple[int, int]:
    """The span of the original text (of `length` characters) that normal[start:end] came from."""
    if start >= end:
        at = offsets[start] if start < len(offsets) else length
        return at, at
    return offsets[start], offsets[end] if end < len(offsets) else length


def normalize_values(value):
    """A case or claim file's parsed contents with every string (keys too) in the normal form, nested
    lists and mappings included, so a file's fields are read like a typed question ("Ｃｅｎｔｅｎｅ",
    "Сentene" with a Cyrillic С, "IHC\u200b 3+" all read as the plain words)."""
    if isinstance(value, str):
        return normalize(value)[0]
    if isinstance(value, dict):
        return {normalize_values(k): normalize_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize_values(v) for v in value]
    return value
