"""philter-lite (UCSF Philter's maintained fork), loaded offline and fast, run with this product's safe words.

Philter keeps only what a filter shows is safe: a word in its 195k-word safe list, a number, a span a safe
pattern matches; every other word is reported. Two parts of the package cannot be used as shipped:
- `philter_lite.philter` tags words with `nltk.pos_tag`, whose perceptron model is not in any package here
  (nltk would have to download it) and whose import costs 2-5 s. Philter asks the tags for two things only:
  a capitalised word is checked against the name lists, a number is safe. `_tag` gives exactly those tags,
  without nltk.
- `philter_lite.filters.filter_db` parses its 5.5 MB set.toml with tomllib at import (2.8 s); the file is
  three one-line arrays, read here as JSON in 0.1 s (tomllib stays the fallback if its layout changes).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import threading
import tomllib
import types
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_lock = threading.Lock()


def _package_dir() -> Path:
    spec = importlib.util.find_spec("philter_lite")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("philter-lite is not installed (pip install philter-lite==0.6.0)")
    return Path(list(spec.submodule_search_locations)[0])


def _read_sets(path: Path) -> dict[str, list[str]]:
    """set.toml's arrays (nonames, firstnames, lastnames): each line `key = [ "a", "b",]` read as JSON."""
    out: dict[str, list[str]] = {}
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.partition(" = ")
            if not sep:
                continue
            out[key.strip()] = json.loads(re.sub(r",\s*\]\s*$", "]", value))
        if {"nonames", "firstnames", "lastnames"} <= out.keys():
            return out
    except (ValueError, OSError):
        pass
    with path.open("rb") as fh:  # the layout changed: the slow, exact reader
        return tomllib.load(fh)


_text: ContextVar[str] = ContextVar("philter_text", default="")
_common: frozenset[str] = frozenset()  # Philter's safe list, for a capitalised word that only starts a sentence
_START = re.compile(r"(?:^|[.!?:;\n\u2022*\-]\s*|\n\s*)$")


def _tag(tokens: list[str]) -> list[tuple[str, str]]:
    """The part-of-speech facts philter's filters ask for: CD (a number; unused by our filter list) and NNP (a capitalised word), plus NNC
    (a word in capitals) so that a name list can be asked about capitals and Title-case alike. A common word
    that is capitalised only because it starts a sentence ("Will Centene cover it?") is NN."""
    text = _text.get()
    out, at = [], 0
    for word in tokens:
        start, at = at, at + len(word)
        if word.isspace():
            out.append((word, ""))
        elif word.isdigit():
            out.append((word, "CD"))
        elif len(word) > 1 and word.isupper():
            out.append((word, "NNC"))
        elif word[:1].isupper():
            first = bool(_START.search(text[max(0, start - 4):start])) if text else False
            out.append((word, "NN" if first and word.lower() in _common else "NNP"))
        else:
            out.append((word, "NN"))
    return out


@lru_cache(maxsize=1)
def _library():
    """philter_lite.philter with `_tag` for nltk and the fast set reader for filter_db (import once, under a lock)."""
    with _lock:
        root = _package_dir()
        if "philter_lite.filters.filter_db" not in sys.modules:
            db = types.ModuleType("philter_lite.filters.filter_db")
            db.__doc__ = "set.toml and regex tables read by assistant.deid (fast, offline)"
            with (root / "filters" / "regex.toml").open("rb") as fh:
                db.regex_db = tomllib.load(fh)
            with (root / "filters" / "regex_context.toml").open("rb") as fh:
                db.regex_context_db = tomllib.load(fh)
            from assistant.deid.word_cache import cached

            sets = root / "filters" / "set.toml"
            db.set_db = cached("deid-philter-sets", [sets], lambda: _read_sets(sets))
            sys.modules[db.__name__] = db
        shim = None
        if "nltk" not in sys.modules:  # philter.py does `import nltk` for pos_tag only
            shim = sys.modules["nltk"] = types.ModuleType("nltk")
            shim.pos_tag = _tag
        try:
            import philter_lite
            from philter_lite import philter
        finally:
            if shim is not None and sys.modules.get("nltk") is shim:
                del sys.modules["nltk"]  # anyone else importing nltk gets the real one
        philter.nltk = types.SimpleNamespace(pos_tag=_tag)
        return philter_lite, sys.modules["philter_lite.filters.filter_db"]


def common_words() -> frozenset[str]:
    """Philter's safe list with ours (after a Philter was built)."""
    return _common


def name_words() -> frozenset[str]:
    """Every word of Philter's first-name and last-name lists, lower case."""
    _lib, db = _library()
    return frozenset(db.set_db["firstnames"]) | frozenset(db.set_db["lastnames"])


@dataclass(frozen=True)
class Found:
    """A word philter could not show safe: where it is, and whether a name list holds it."""

    start: int
    end: int
    name: bool


class Philter:
    """philter-lite's engine over a filter list: our safe patterns and words first, then Philter's own lists."""

    def __init__(self, safe_patterns: list[str], always: frozenset[str], lower_or_caps: frozenset[str]):
        global _common
        lib, db = _library()
        self._lib = lib
        self._always, self._lower_or_caps = always, lower_or_caps
        sets = db.set_db
        self.first, self.last = frozenset(sets["firstnames"]), frozenset(sets["lastnames"])
        self.names = self.first | self.last
        _common = frozenset(sets["nonames"]) | always | lower_or_caps
        regex_db = {"ours": {f"safe_{i}": p for i, p in enumerate(safe_patterns)}}
        set_db = {"always": sorted(always), "plain": sorted(lower_or_caps - self.names),
                  "unless_capitalised": sorted(lower_or_caps & self.names),
                  "firstnames": sets["firstnames"], "lastnames": sets["lastnames"], "nonames": sets["nonames"]}
        specs = [{"title": f"ours {i}", "type": "regex", "exclude": False, "keyword": f"ours.safe_{i}"}
                 for i in range(len(safe_patterns))]
        specs += [
            {"title": "domain words", "type": "set", "exclude": False, "pos": [], "keyword": "always"},
            {"title": "corpus words", "type": "set", "exclude": False, "pos": [], "keyword": "plain"},
            {"title": "corpus words a name list holds", "type": "set", "exclude": False, "pos": ["NN", "NNC"],
             "keyword": "unless_capitalised"},
            # Philter's own order: capitalised words on a name list are names before its safe list is asked
            {"title": "Firstnames Blacklist", "type": "set", "exclude": True, "pos": ["NNP", "NNC"],
             "keyword": "firstnames", "phi_type": "Name"},
            {"title": "Lastnames Blacklist", "type": "set", "exclude": True, "pos": ["NNP", "NNC"],
             "keyword": "lastnames", "phi_type": "Name"},
        ]
        specs += [{"title": f"Find Names {i}", "type": "regex_context", "exclude": True, "context": side,
                   "context_filter": "Firstnames Blacklist", "keyword": f"names_regex_context{i}",
                   "phi_type": "Name"} for i, side in ((1, "right"), (2, "left"), (3, "left"), (4, "left"))]
        specs += [
            {"title": "Whitelist 1", "type": "set", "exclude": False, "pos": [], "keyword": "nonames"},
            # Philter's "POS MATCHER" (every number is safe) is left out: a number is safe here only when a safe
            # pattern says so (four digits at most, a code, an amount, a figure with its unit)
        ]
        self.filters = [lib.filter_from_dict(s, regex_db=regex_db, regex_context_db=db.regex_context_db["regex_context"],
                                             set_db=set_db) for s in specs]

    def unsafe(self, text: str) -> list[Found]:
        """Each word (letters and digits) of `text` that no safe filter covers.

        Philter's coordinate maps cost the square of a text's length: it is run on pieces of at most CHUNK
        characters cut at a line or a space, and not at all on a piece whose every word is plainly safe."""
        out: list[Found] = []
        start = 0
        while start < len(text):
            end = min(len(text), start + CHUNK)
            if end < len(text):
                cut = max(text.rfind("\n", start, end), text.rfind(" ", start + CHUNK // 2, end))
                end = cut + 1 if cut > start else end
            piece = text[start:end]
            if not self._plainly_safe(piece):
                out += [Found(f.start + start, f.end + start, f.name) for f in self._unsafe(piece)]
            start = end
        return out

    def _plainly_safe(self, text: str) -> bool:
        """Every word a short number, a code of ours (J9354) or a word of a safe list that no name list holds."""
        for m in _WORD.finditer(text):
            word = m.group(0)
            if word.isdigit():
                if len(word) > 4:
                    return False
                continue
            low = word.lower()
            if low in self._always or _CODE.fullmatch(word):
                continue
            if not word.isalpha() or low not in _common or low in self.names:
                return False
        return True

    def _unsafe(self, text: str) -> list[Found]:
        token = _text.set(text)
        try:
            include, _exclude, tracker = self._lib.detect_phi(text, self.filters, phi_type_list=["Name", "OTHER"])
        finally:
            _text.reset(token)
        named = [(p.start, p.stop) for p in tracker.phi if p.phi_type == "Name"]
        # the include map itself is not read: philter-lite 0.6.0's add_extend mangles a range that overlaps two
        # others ("3.6 mg" over "3" and "6"); each filter's own hits, kept in the tracker, are exact
        safe = bytearray(len(text))
        for hit in tracker.non_phi:
            safe[hit.start:hit.stop] = b"\1" * (hit.stop - hit.start)
        for hit in tracker.phi:
            safe[hit.start:hit.stop] = bytes(hit.stop - hit.start)
        out = []
        for m in _WORD.finditer(text):
            start, end = m.span()
            word = m.group(0)
            if word.lower() in self._always:
                continue  # a drug or payer word ("Sunshine Health") is never a name, whatever stands beside it
            listed = word.lower() in self.names
            if all(safe[start:end]) and not (listed and self._capitalised_name(text, start, word)):
                continue
            name = listed or any(a <= start and end <= b for a, b in named)
            out.append(Found(start, end, name))
        return out


    def _capitalised_name(self, text: str, start: int, word: str) -> bool:
        """A capitalised word a name list holds, not one of ours, not a common word opening a sentence: a name.
        (Checked here too, so a name never depends on philter's coordinate bookkeeping.)"""
        if not word[:1].isupper() or word.lower() in self._always:
            return False
        if word.isupper() and len(word) > 1 and word.lower() in self._lower_or_caps:
            return False
        return not (word.lower() in _common and _START.search(text[max(0, start - 4):start]))


_WORD = re.compile(r"[^\W_]+")
_CODE = re.compile(r"[A-V]\d{4}")
CHUNK = 600
