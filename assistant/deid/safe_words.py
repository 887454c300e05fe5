"""This product's vocabulary, kept by redaction: drug, payer and code words, units, dose words, policy ids.

Two word lists and a list of safe patterns, handed to Philter ahead of its own lists:
- `always`: drug, payer, product and line-of-business words from the data files, months and days, and the
  clinical shorthand staff write. Kept in any case, even when a name list holds them ("Oscar", "Humana").
- `lower_or_caps`: every other word of the corpus, the data files and the app's sources. Those a name list also holds ("Brown",
  "Katherine", "Will") are kept in lower case or capitals only: capitalised, they may be a patient's name.
- `PATTERNS`: codes (HCPCS, ICD-10, NDC, CPT, NPI), policy ids, numbers up to four digits, amounts, dates
  (a birth date is replaced before these run) and the placeholders themselves (so redaction is idempotent).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent.parent / "data"

SHORTHAND = """
    mg kg lb lbs ml mcg ug g l dl cm mm m2 iv ivpb po sq sc q3w q21 q21d qd bid tid prn x mg/kg
    mbc ebc her2 her ihc ish fish cish ecog kps lvef muga echo bsa bmi ast alt alp bili plt anc wbc ula uln
    pcr ptd dx hx tx rx sx fx pt pts yo yrs wt ht dob dos mrn pa prior auth jw jz ndc cpt icd hcpcs asp wac
    npi tin nsclc ild lv ef er pr tnbc ctdna ngs cdk neu erbb2 dm1 tdm1 tdxd t-dm1 t-dxd adc adcs cns
    cycle cycles dose doses vial vials unit units infusion infusions reconstitute reconstituted
    jan feb mar apr may jun jul aug sep sept oct nov dec
    january february march april june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
    today tomorrow yesterday am pm
    shes hes whats havent hasnt doesnt dont cant wont isnt arent wasnt werent didnt thats theres lets im ive
    youre theyre wouldnt shouldnt couldnt
""".split()

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")

PATTERNS = [
    r"\[[A-Z_]+\]",                                          # our placeholders
    r"\b[A-V]\d{4}\b",                                        # HCPCS level II: J9354, Q5116, C9399
    r"\b[A-TV-Z]\d{2}(?:\.[0-9A-Z]{1,4})?\b",                 # ICD-10-CM: C50.911, Z51.11, C79.31
    r"(?i)\bNDC[ \t]*[:#]?[ \t]*\d{4,5}-?\d{3,4}-?\d{1,2}\b",  # NDC with its name
    r"\b50242-?\d{3,4}-?\d{2}\b",                             # Genentech's labeler code
    r"(?i)\b(?:CPT|HCPCS|codes?)[ \t]*[:#]?[ \t]*\d{5}(?:[ \t]*(?:[+,/&]|and)[ \t]*\d{5})*\b",
    r"\b9636[5-9]\b|\b9641[1-7]\b|\b9640[19]\b|\b9641[3-5]\b|\b9637[2-5]\b|\b96360\b|\b96361\b",  # infusion CPTs
    r"(?i)\bNPI[ \t]*[:#]?[ \t]*\d{10}\b",                    # a prescriber's public NPI
    r"\b[A-Z]{2,6}(?:\.[A-Z0-9]{2,8}){1,3}\b",                # policy ids: CP.PHAR.229
    r"\bCG\d{2,4}\b",
    r"(?<![0-9])\d{1,4}(?![0-9])",                            # numbers of up to four digits: doses, weights, years
    r"\$[ \t]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|\$[ \t]?\d+(?:\.\d+)?",  # amounts
    r"(?<![\d.])\d+(?:\.\d+)?[ \t]?(?i:mg/kg|mg/m2|mg|kg|lbs?|ml|mcg|units?|vials?|%|cm|mm|g/dl|k/ul)\b",
    r"(?<![\d/.-])\d{4}-\d{1,2}-\d{1,2}(?![\d/-])",           # dates (a birth date was replaced before)
    r"(?<![\d/.-])\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})(?![\d/-])",
    rf"(?i)\b{_MONTH}[ \t]+\d{{1,2}}(?:st|nd|rd|th)?,?[ \t]+\d{{4}}\b",
    r"\b\d{1,2}:\d{2}\b",
    r"\b\d{1,4}(?:k|x|mg|kg|ml|st|nd|rd|th|d|w|h|y|yo|mo|wk|wks|yr|yrs)\b",   # 210k, 6x, 70kg, 21d, 4mo
    r"\b[qQ]\d{1,3}(?:d|w|h|wk|wks|days?|weeks?)?\b|\b\d{1,2}x\d{1,4}\b",  # q2w, q21d, 2x160
    r"(?<![\d-])(?:19|20)\d\d-(?:19|20)?\d\d(?![\d-])",       # 2019-2020, 2019-20
    r"\b[1-8]?\d[FM]\b",                                   # 63F, 56M (an age over 89 was replaced before)
    r"\b[xX]\d{1,3}\b|\b[1-9]L\b|\b[Cc]\d{1,2}(?:[Dd]\d{1,2})?\b",  # x14, 2L, C9, C1D1
    r"\b(?:y?[pc]|r)?T(?:[0-4][a-d]?|is|X)(?:N[0-3X][a-c]?(?:mi)?)?(?:M[01X])?\b",  # TNM: pT2N0, ypT1b, cT2N1
    r"\b(?:y?[pc])?N[0-3X][a-c]?(?:mi)?\b|\bM[01X]\b",
]


def _words(value: Any):
    if isinstance(value, str):
        yield from re.findall(r"[^\W_]+", value.lower())
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _words(str(key))
            yield from _words(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _words(item)


def _yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _sources() -> list[Path]:
    from assistant.settings import get_settings

    corpus = get_settings().corpus_dir
    return [*DATA.rglob("*.yaml"), *corpus.glob("*.txt"), corpus / "manifest.yaml", *DATA.parent.rglob("*.py")]


@lru_cache(maxsize=1)
def always() -> frozenset[str]:
    """Drug, payer, product and line-of-business words and clinical shorthand: kept in any case."""
    from assistant.deid.word_cache import cached

    return cached("deid-always", _sources(), _always)


def _always() -> frozenset[str]:
    terms = _yaml(DATA / "terms.yaml")
    words = set(SHORTHAND)
    for family in ("drugs", "payers", "lines_of_business", "diagnoses"):
        words |= set(_words(terms.get(family, {})))
    words |= set(_words(_yaml(DATA / "products.yaml")))
    from assistant.settings import get_settings

    manifest = get_settings().corpus_dir / "manifest.yaml"
    if manifest.exists():  # the documents' titles and publishers: "Dr. Oracle", "CareCost"
        words |= set(_words(_yaml(manifest)))
    for path in sorted((DATA / "policies").glob("*.yaml")):
        policy = _yaml(path)
        words |= set(_words({k: policy.get(k) for k in ("payer", "name", "title", "id", "lines_of_business")
                             if isinstance(policy, dict)}))
    return frozenset(w for w in words if not w.isdigit())


@lru_cache(maxsize=1)
def lower_or_caps() -> frozenset[str]:
    """Every other word of the corpus and the data files (public text)."""
    from assistant.deid.word_cache import cached

    return cached("deid-corpus-words", _sources(), _lower_or_caps)


def _lower_or_caps() -> frozenset[str]:
    from assistant.settings import get_settings

    words: set[str] = set()
    for path in sorted(get_settings().corpus_dir.glob("*.txt")):
        words |= set(re.findall(r"[^\W_]+", path.read_text(encoding="utf-8", errors="replace").lower()))
    for path in sorted(DATA.rglob("*.yaml")):  # read as text: every word in them is public, comments too
        words |= set(re.findall(r"[^\W_]+", path.read_text(encoding="utf-8", errors="replace").lower()))
    return frozenset(w for w in words if not w.isdigit()) - always() | _answer_words()


_TRIPLE = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'')
_COMMENT = re.compile(r"(?m)^[ \t]*#.*$|[ \t]+#[^\n\"']*$")
_LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'')


@lru_cache(maxsize=1)
def _answer_words() -> frozenset[str]:
    """The words of the app's own messages ("Shorten it."): string constants in its code, and the lower-case words
    of its docstrings and comments. A word a name list holds is still kept only in lower case or capitals, or
    opening a sentence."""
    words: set[str] = set()
    for path in sorted(DATA.parent.rglob("*.py")):
        if "deid" in path.parts or path.name == "redact.py":
            continue
        whole = path.read_text(encoding="utf-8", errors="replace")
        # the engineers' prose (docstrings, comments) gives English words, taken only as written in lower case:
        # a made-up patient there is capitalised ("Jane Doe"), a word ("parse", "bill") is not
        words |= set(re.findall(r"(?<![\w'])[a-z]{3,}(?![\w'])", whole))
        source = _TRIPLE.sub("", whole)  # docstrings
        source = _COMMENT.sub("", source)
        for literal in _LITERAL.findall(source):
            words |= set(re.findall(r"[^\W\d_]+", " ".join(literal).lower()))
    return frozenset(words)
