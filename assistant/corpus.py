"""Load the corpus: manifest (validated), document texts, and quote lookup."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from assistant.corpus_fixes import Fix, apply_fixes
from assistant.errors import DataError, InputError
from assistant.models import SourceQuote
from assistant.settings import get_settings

_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class DocumentMeta(BaseModel):
    """One manifest entry."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    file: str
    source_file: str | None = None
    title: str = Field(min_length=1)
    publisher: str = Field(min_length=1)
    document_type: str = Field(min_length=1)
    reference: str | None = None
    effective_date: str | None = None
    last_review_date: str | None = None
    review_status: str = Field(min_length=1)
    lines_of_business: list[str] = Field(default_factory=list)
    source_url: str | None = None
    fixes: list[Fix] = Field(default_factory=list)

    @field_validator("effective_date", "last_review_date")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        if value is not None and not _DATE.match(value):
            raise ValueError("must be YYYY, YYYY-MM or YYYY-MM-DD")
        return value

    @property
    def date(self) -> str | None:
        """The most recent date the document states about itself."""
        return self.last_review_date or self.effective_date


class Manifest(BaseModel):
    documents: list[DocumentMeta] = Field(min_length=1)


@dataclass(frozen=True)
class Document:
    meta: DocumentMeta
    text: str


def _describe(error: ValidationError, raw: dict) -> str:
    parts = []
    for err in error.errors():
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] == "documents" and isinstance(loc[1], int):
            try:
                doc_id = raw["documents"][loc[1]].get("id", f"#{loc[1]}")
            except (KeyError, IndexError, AttributeError, TypeError):
                doc_id = f"#{loc[1]}"
            where = f"document {doc_id!r} field {'.'.join(str(p) for p in loc[2:]) or '(entry)'}"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def load_manifest(corpus_dir: Path) -> Manifest:
    """Read and validate corpus_dir/manifest.yaml; DataError names the bad field."""
    path = corpus_dir / "manifest.yaml"
    if not path.is_file():
        raise DataError(f"corpus manifest not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"corpus manifest {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise DataError(f"corpus manifest {path}: expected a mapping with 'documents'")
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        raise DataError(f"corpus manifest {path}: {_describe(exc, raw)}") from None
    ids = [d.id for d in manifest.documents]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise DataError(f"corpus manifest {path}: duplicate document id {dupes}")
    return manifest


class Corpus:
    """The documents, by id, with exact-substring quote lookup."""

    def __init__(self, corpus_dir: Path):
        self.dir = corpus_dir
        self.manifest = load_manifest(corpus_dir)
        self.docs: dict[str, Document] = {}
        for meta in self.manifest.documents:
            path = corpus_dir / meta.file
            if not path.is_file():
                raise DataError(f"corpus manifest: document {meta.id!r} field file: {path} not found")
            self.docs[meta.id] = Document(meta, path.read_text(encoding="utf-8"))

    def text(self, doc_id: str) -> str:
        return self.doc(doc_id).text

    def doc(self, doc_id: str) -> Document:
        try:
            return self.docs[doc_id]
        except KeyError:
            raise DataError(f"unknown document id {doc_id!r}; known: {sorted(self.docs)}") from None

    def find(self, doc_id: str, quote: str, section: str = "") -> SourceQuote:
        """The quote's position; DataError if it is not an exact substring of the document."""
        text = self.text(doc_id)
        if not quote:
            raise DataError(f"empty quote for {doc_id}")
        start = text.find(quote)
        if start < 0:
            raise DataError(f"quote is not an exact substring of {doc_id}: {quote[:80]!r}")
        return SourceQuote(doc_id=doc_id, section=section, quote=quote, start=start, end=start + len(quote))

    def is_exact(self, doc_id: str, quote: str) -> bool:
        doc = self.docs.get(doc_id)
        return bool(quote) and doc is not None and quote in doc.text

    def fingerprint(self) -> str:
        """Hash of the manifest and every document's text."""
        h = hashlib.sha256((self.dir / "manifest.yaml").read_bytes())
        for doc_id in sorted(self.docs):
            h.update(doc_id.encode())
            h.update(self.docs[doc_id].text.encode("utf-8"))
        return h.hexdigest()


def rebuild_from_sources(corpus_dir: Path, sources_dir: Path) -> dict[str, str]:
    """Apply the manifest's fixes to the original sources; return {doc_id: fixed text}."""
    manifest = load_manifest(corpus_dir)
    out = {}
    for meta in manifest.documents:
        if not meta.source_file:
            continue
        original = (sources_dir / meta.source_file).read_text(encoding="utf-8")
        try:
            out[meta.id] = apply_fixes(original, meta.fixes)
        except ValueError as exc:
            raise DataError(f"document {meta.id!r}: {exc}") from None
    return out


@lru_cache(maxsize=4)
def _load(corpus_dir: str) -> Corpus:
    return Corpus(Path(corpus_dir))


def get_corpus() -> Corpus:
    """The corpus named by the settings, loaded once per folder."""
    return _load(str(get_settings().corpus_dir))


def check_input_text(text: str, *, what: str = "question", limit: int = 2000) -> str:
    """Refuse empty text; refuse text past the limit. Returns the stripped text."""
    if text is None or not str(text).strip():
        raise InputError(f"The {what} is empty. Type a {what}.")
    text = str(text).strip()
    if len(text) > limit:
        raise InputError(f"The {what} is {len(text):,} characters; the limit is {limit:,}. Shorten it.")
    return text
