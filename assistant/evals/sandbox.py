"""Runs against changed data: a changed corpus folder or an imported ASP price file, in a temporary data
folder, so staff see which answers a new document or quarter changes; the installed index, prices,
sessions and audit log in the data folder are read, never written. Also the planner switch."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.settings import get_settings

Say = Callable[[str], None]


@contextmanager
def scoped_env(**values: str | None) -> Iterator[None]:
    """Set (or, with None, remove) settings variables for the block; settings are re-read per environment.

    The one way to choose the data folder, the corpus or the planner for a whole run: the agent reads
    them from settings on every call, and offers no switch of its own.
    """
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def planner_env(planner: str) -> dict[str, str | None]:
    """The settings that make ask() use this planner: no ASSISTANT_LLM for deterministic, the configured one for llm."""
    if planner == "deterministic":
        return {"ASSISTANT_LLM": None}
    return {"ASSISTANT_LLM": get_settings().llm}


def _copy_installed(installed: Path, target: Path, *, same_corpus: bool) -> None:
    """What the run reads from the installed data folder: imported price quarters, the question encoder,
    and (same corpus) the committed index and the saved sentence vectors."""
    prices = installed / "prices"
    if prices.is_dir():
        shutil.copytree(prices, target / "prices", ignore=shutil.ignore_patterns("*.tmp"))
    model = installed / "model"
    if model.is_dir():  # ~90 MB, only read: linked, not copied
        (target / "model").mkdir()
        for file in model.iterdir():
            if file.is_file():
                (target / "model" / file.name).symlink_to(file.resolve())
    from assistant.private_files import private_tree

    if not same_corpus:
        private_tree(target)  # copytree keeps the installed files' modes; the model's links are left alone
        return
    from assistant.retrieval import IndexState

    current = IndexState(installed / "index").read()
    if current and (installed / "index" / current["dir"]).is_dir():
        shutil.copytree(installed / "index" / current["dir"], target / "index" / current["dir"])
        shutil.copy2(installed / "index" / "CURRENT", target / "index" / "CURRENT")
    if (installed / "sentences").is_dir():
        shutil.copytree(installed / "sentences", target / "sentences")
    private_tree(target)


def build_index(say: Say) -> None:
    """What `assistant index` builds for a corpus, in the current data folder: the index and the sentence vectors."""
    from assistant.corpus import get_corpus
    from assistant.passages import save_vectors
    from assistant.retrieval import all_chunks, ensure_index

    state = ensure_index(say=say)
    say(f"Indexed {state['chunks']} chunks of the changed corpus.")
    save_vectors(all_chunks(get_corpus()))


@contextmanager
def changed_data(corpus: Path | None = None, prices: Path | None = None, *, quarter: str | None = None,
                 say: Say = lambda m: None) -> Iterator[dict[str, str]]:  # fmt: skip
    """A temporary data folder (and corpus) for the block; yields what changed, for the report.

    Raises the assistant's own errors (DataError for a bad corpus, InputError for a bad price file).
    """
    installed = get_settings()
    tmp = Path(tempfile.mkdtemp(prefix="assistant-eval-"))
    changed: dict[str, str] = {}
    try:
        _copy_installed(installed.data_dir, tmp, same_corpus=corpus is None)
        env = {"ASSISTANT_DATA_DIR": str(tmp)}
        if corpus is not None:
            env["ASSISTANT_CORPUS_DIR"] = str(corpus.resolve())
        with scoped_env(**env):
            if corpus is not None:
                from assistant.corpus import get_corpus
                from assistant.retrieval import fingerprint

                loaded = get_corpus()  # a bad manifest or a missing file stops here, before anything is built
                changed["corpus"] = f"{corpus} ({len(loaded.docs)} documents, fingerprint {fingerprint(loaded)[:12]})"
                say(f"Indexing the changed corpus {corpus} in a temporary data folder…")
                build_index(say)
            if prices is not None:
                from assistant.tools.prices import import_asp_file

                loaded_q = import_asp_file(prices, quarter)
                row = loaded_q.rows.get("J9354")
                price = f", J9354 ${row.payment_limit} per {row.dosage}" if row else ", no J9354 row"
                changed["prices"] = f"{prices} ({loaded_q.quarter}{price})"
            changed["data_dir"] = f"{tmp} (temporary; the installed {installed.data_dir} is not written)"
            yield changed
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
