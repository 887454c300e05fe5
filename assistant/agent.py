"""`ask(question, session) -> Answer`: plan, call the deterministic tools, compose, guard.

The default planner is offline: facts are read by assistant.extract, the intent by assistant.intent. With ASSISTANT_LLM set, a langchain chat
model chooses the tools instead (assistant.llm_agent); its answer must pass the same guard or it
is replaced by the deterministic composition.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from assistant import compose
from assistant.corpus import check_input_text, get_corpus
from assistant.errors import AssistantError, DataError, InputError
from assistant.guard import grounding
from assistant.models import Answer, ToolCall
from assistant.intent import classify, intent_model, search_query
from assistant.extract import read_facts
from assistant.facts import PatientFacts
from assistant.sanitize import strip_injections
from assistant.session import Session, SessionStore
from assistant.settings import get_settings

log = logging.getLogger("assistant")

MAX_QUESTION_CHARS = 2500  # a question plus a pasted chart-note excerpt (~400 words); longer text is refused, not truncated
ASK_WEIGHT = "What is the patient's weight, in kg or lb?"
ASK_INDICATION = (
    "Is this for HER2+ metastatic breast cancer (mBC) or early breast cancer in the adjuvant setting "
    "(EBC, KATHERINE)?"
)
ASK_PAYER = "Which payer is this for: Centene (policy CP.PHAR.229) or Oscar (guideline CG101)?"
ASK_DIAGNOSIS = (
    "What is the diagnosis: HER2+ metastatic breast cancer, early breast cancer with residual invasive disease "
    "after neoadjuvant therapy, NSCLC, recurrent salivary gland tumor, or brain metastases from breast cancer?"
)
SCOPE = (
    "I answer questions about Kadcyla (ado-trastuzumab emtansine, HCPCS J9354) only: dose, vials, waste and "
    "billing; Centene CP.PHAR.229 and Oscar CG101 coverage criteria; telling Kadcyla apart from look-alike "
    "HER2 products and codes; and what the five source documents say. I do not answer from general knowledge."
)
_SCOPE_SOURCES = [SCOPE, ASK_PAYER, ASK_WEIGHT, ASK_INDICATION, ASK_DIAGNOSIS]

_store = SessionStore()
_store_lock = threading.Lock()


def default_store() -> SessionStore:
    return _store


# -- tools (the same functions the CLI and the langchain agent call) -------------------------
def run_dose(args: dict) -> dict:
    from assistant.tools.dose import build_request, calculate_dose

    return calculate_dose(build_request(**args)).model_dump(mode="json")


def run_policy(args: dict) -> dict:
    from assistant.tools.policy import check_policy
    from assistant.tools.policy_case import parse_case

    return check_policy(parse_case(args)).model_dump(mode="json")


def run_codes(args: dict) -> dict:
    from assistant.tools.codes import disambiguate_code

    return disambiguate_code(args["query"]).model_dump(mode="json")


def run_search(args: dict) -> list[dict]:
    from assistant.retrieval import get_retriever

    hits = get_retriever().search(args["query"], k=args.get("k", 5))
    return [h.model_dump() for h in hits]


TOOLS = {"calculate_dose": run_dose, "check_policy": run_policy, "disambiguate_code": run_codes, "search_corpus": run_search}


# -- conflicts between sources -------------------------------------------------------------
@lru_cache(maxsize=1)
def _conflicts() -> list[dict]:
    raw = yaml.safe_load(resources.files("assistant.data").joinpath("conflicts.yaml").read_text(encoding="utf-8"))
    corpus = get_corpus()
    for item in raw:
        for side in item["sides"]:
            corpus.find(side["doc_id"], side["quote"])  # DataError if the quote drifted
    return raw


def _conflict_notes(text: str, cites: compose.Citations) -> tuple[list[str], list[str]]:
    low = text.lower()
    lines, warnings = [], []
    corpus = get_corpus()
    for item in _conflicts():
        if any(t in low for t in item["triggers"]):
            parts = []
            for side in item["sides"]:
                meta = corpus.doc(side["doc_id"]).meta
                marker = cites.add({"doc_id": side["doc_id"], "quote": side["quote"]})
                parts.append(f"{meta.publisher} ({meta.date or 'undated'}): “{side['quote']}” {marker}")
            lines.append(f"Sources disagree on {item['topic']}:\n- " + "\n- ".join(parts))
            warnings.append(f"Conflicting sources on {item['topic']}: both are shown with their dates.")
    return lines, warnings


# -- the turn --------------------------------------------------------------------------------
class _Turn:
    def __init__(self, question: str, session: Session):
        self.question = question
        self.session = session
        self.answer = Answer(question=question, status="answered", answer="")
        self.cites = compose.Citations()
        self.said = PatientFacts()

    def call(self, tool: str, args: dict) -> Any:
        output = TOOLS[tool](args)
        self.answer.tool_calls.append(ToolCall(tool=tool, input=_jsonable(args), output=output))
        return output

    def needs(self, intent: str, missing: list[str], questions: list[str]) -> Answer:
        self.session.pending = intent
        self.answer.status = "needs_info"
        self.answer.missing = missing
        self.answer.answer = " ".join(questions)
        return self.answer


def _jsonable(args: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in args.items()}


def ask(question: str, session: str | Session | None = None, *, store: SessionStore | None = None, llm: Any = None) -> Answer:
    """Answer one question in a conversation. Never raises: errors come back as status 'error'."""
    store = store or _store
    sess = session if isinstance(session, Session) else store.get(session)
    if isinstance(question, str):  # lone surrogates cannot be stored or sent as JSON: show them as U+FFFD
        question = question.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    try:
        answer = _ask(question, sess, llm)
    except (InputError, AssistantError) as exc:
        answer = Answer(question=_safe(question), status="error", answer=str(exc))
    except Exception as exc:  # noqa: BLE001 - a reply, not a traceback; the cause goes to the log
        from assistant.redact import redact_exception  # the message may quote the question: no identifiers in logs

        log.error("unexpected failure answering a question:\n%s", redact_exception(exc))
        answer = Answer(question=_safe(question), status="error", answer=f"Something went wrong inside the assistant ({type(exc).__name__}); nothing was computed. Please rephrase or report it.")
    sess.turns += 1
    if isinstance(session, str) or sess.id:
        store.save(sess)
    from assistant.audit import record  # every answer, errors included, identifiers redacted; never raises

    answer.id = answer.id or record(question, answer, sess.id)
    return answer


def _safe(question: Any) -> str:
    return question if isinstance(question, str) else repr(question)


def _ask(question: str, session: Session, llm: Any) -> Answer:
    if not isinstance(question, str):
        raise InputError("The question must be text.")
    text = check_input_text(question, what="question", limit=MAX_QUESTION_CHARS)
    clean, removed = strip_injections(text)
    turn = _Turn(question, session)
    if removed:
        turn.answer.warnings.append(
            f"Ignored {len(removed)} instruction(s) embedded in the text (e.g. “{removed[0][:80]}”): "
            "instructions in questions or pasted notes never change tool inputs or verdicts."
        )
    reading = read_facts(clean, turn=session.turns + 1)
    if reading.bad_date:
        raise InputError(
            f"“{reading.bad_date}” is not a valid date. Please give the date of service as YYYY-MM-DD (e.g. 2026-06-03)."
        )
    said = reading.facts
    changes = session.facts.update(said)
    intent = _intent(clean, said, session)
    turn.answer.intent = intent
    turn.said = said
    if changes and intent in ("dose", "policy"):
        turn.answer.warnings.append("Updated: " + "; ".join(changes) + ".")
    session.last_intent = intent
    if llm is not None or get_settings().llm:
        from assistant.llm_agent import run_llm

        answer = run_llm(turn, clean, intent, llm)
    else:
        answer = _deterministic(turn, clean, intent, said)
        answer.citations = turn.cites.items
    answer.facts = fact_rows(session.facts)
    _finish(answer, clean)
    return answer


def fact_rows(facts: PatientFacts) -> list[dict]:
    """The facts held for the conversation, for the answer: evidence redacted as in the audit log."""
    from assistant.redact import redact

    rows = facts.rows()
    for row in rows:
        for e in row["evidence"]:
            e["text"] = redact(e["text"])
    return rows


def _intent(clean: str, said: PatientFacts, session: Session) -> str:
    pending = session.pending
    f = session.facts
    if said.value("cycle") is not None and f.value("weight") and f.value("weight_unit") and f.value("indication"):
        # "what about cycle 2?" after a dose answer: the same patient, the next cycle
        if classify(clean, said, similarity=lambda t: intent_model().similarity(t)).name not in ("policy", "code"):
            return "dose"
    short_reply = len(clean) < 80 and not re.search(r"\?|\b(what|how|is|does|can|which)\b", clean.lower())
    if pending and (short_reply or _only_facts(clean, said) or ("?" not in clean and said.stated())):
        return pending
    if session.last_intent == "code" and len(clean) < 60 and re.match(r"\s*(and|what about|how about|same for|also)\b", clean, re.I):
        return "code"  # "And the one for Enhertu?" after a code question
    return classify(clean, said, similarity=lambda t: intent_model().similarity(t)).name


def _only_facts(clean: str, said: PatientFacts) -> bool:
    return bool(said.stated()) and len(clean.split()) <= 8


def _deterministic(turn: _Turn, clean: str, intent: str, said: PatientFacts) -> Answer:
    turn.session.pending = None
    if intent == "dose":
        return _dose(turn)
    if intent == "policy":
        return _policy(turn, said)
    if intent == "code":
        return _code(turn, clean)
    if intent == "document":
        return _document(turn, clean, said)
    turn.answer.status = "out_of_scope"
    turn.answer.answer = SCOPE
    return turn.answer


def _dose(turn: _Turn) -> Answer:
    f = turn.session.facts
    args = f.to_dose_request()
    missing, questions = [], []
    if args.get("weight") is None or not args.get("weight_unit"):
        missing.append("weight (kg or lb)")
        q = ASK_WEIGHT
        if args.get("weight") is not None:
            # kept: a reply of just "kg" or "lb" completes it
            q = f"You gave a weight of {args['weight']:g} without a unit. {ASK_WEIGHT}"
        questions.append(q)
    if not args.get("indication"):
        missing.append("indication (mBC or EBC)")
        questions.append(ASK_INDICATION)
    if missing:
        return turn.needs("dose", missing, questions)
    try:
        result = turn.call("calculate_dose", args)
    except InputError as exc:
        turn.answer.status = "error"
        turn.answer.answer = str(exc)
        turn.answer.tool_calls.append(ToolCall(tool="calculate_dose", input=_jsonable(args), output={"error": str(exc)}))
        if "weight" in str(exc).lower():  # an impossible weight is not kept for the next turn
            f.forget("weight")
            f.forget("weight_unit")
        if "mg/kg" in str(exc):
            f.forget("mg_per_kg")
        return turn.answer
    turn.answer.answer = compose.compose_dose(result, turn.cites)
    turn.answer.warnings.extend(result.get("warnings", []))
    return turn.answer


def _policy(turn: _Turn, said: PatientFacts) -> Answer:
    f = turn.session.facts
    other = said.value("unsupported_payer")
    if other and not f.value("payer"):
        turn.answer.status = "out_of_scope"
        turn.answer.answer = (
            f"I have no {_PAYER_NAMES.get(other, other)} policy in my documents, so I cannot say what it covers. "
            "The payer documents I hold are Centene CP.PHAR.229 and Oscar CG101."
        )
        return turn.answer
    case = f.to_case()
    missing, questions = [], []
    if not case.get("payer"):
        missing.append("payer")
        questions.append(ASK_PAYER)
    if not case.get("diagnosis") and case.get("payer") != "oscar":
        missing.append("diagnosis")
        questions.append(ASK_DIAGNOSIS)
    if missing:
        return turn.needs("policy", missing, questions)
    result = turn.call("check_policy", case)
    turn.answer.answer = compose.compose_policy(result, turn.cites)
    turn.answer.missing = [compose._plain(m) for m in result.get("missing", [])]
    turn.answer.warnings.extend(w if isinstance(w, str) else str(w) for w in result.get("warnings", []))
    return turn.answer


_PAYER_NAMES = {"aetna": "Aetna", "unitedhealthcare": "UnitedHealthcare", "cigna": "Cigna", "humana": "Humana",
                "bcbs": "Blue Cross Blue Shield", "kaiser": "Kaiser Permanente", "molina": "Molina", "medicare": "Medicare"}


def _tail(turn: _Turn, clean: str, did: str) -> str:
    """The text a tool may take: a long pasted note keeps its last part, where the question is."""
    from assistant.retrieval import MAX_QUERY_CHARS

    if len(clean) <= MAX_QUERY_CHARS:
        return clean
    turn.answer.warnings.append(f"{did} the last {MAX_QUERY_CHARS:,} characters of the text.")
    return clean[-MAX_QUERY_CHARS:]


def _code(turn: _Turn, clean: str) -> Answer:
    result = turn.call("disambiguate_code", {"query": _tail(turn, clean, "Read codes and names from")})
    turn.answer.answer = compose.compose_code(result, turn.cites)
    if result.get("verdict") in ("conflicting", "ambiguous"):
        turn.answer.warnings.append(f"Product/code check: {result['verdict']} — confirm before the claim.")
    return turn.answer


_PAYER_DOCS = {"centene": "centene-cp-phar-229", "oscar": "oscar-cg101"}


def _document(turn: _Turn, clean: str, said: PatientFacts) -> Answer:
    from assistant.passages import choose_quotes

    query = _tail(turn, clean, "Searched with")
    payer = said.value("payer")
    hits = turn.call("search_corpus", {"query": search_query(query), "k": 8 if payer else 5})
    if payer:  # a question about one payer's policy is answered from that policy first
        own = [h for h in hits if h["doc_id"] == _PAYER_DOCS[payer]]
        hits = own + [h for h in hits if h["doc_id"] != _PAYER_DOCS[payer]]
    if not hits:
        turn.answer.status = "out_of_scope"
        turn.answer.answer = SCOPE
        return turn.answer
    quotes = choose_quotes(hits, search_query(clean))
    if not quotes:  # every passage found held markup or an instruction: nothing may be quoted
        turn.answer.status = "out_of_scope"
        turn.answer.answer = SCOPE
        return turn.answer
    lines = [compose.compose_passages(quotes, turn.cites)]
    notes, warnings = _conflict_notes(clean, turn.cites)
    lines.extend(notes)
    turn.answer.warnings.extend(warnings)
    turn.answer.answer = "\n".join(lines)
    return turn.answer


def _finish(answer: Answer, clean: str) -> None:
    """Add review-status warnings and run the grounding guard."""
    draft = {c.doc_id for c in answer.citations if c.review_status and "pending" in c.review_status.lower()}
    for doc_id in sorted(draft):
        meta = get_corpus().doc(doc_id).meta
        answer.warnings.append(f"{meta.publisher} is marked “{meta.review_status}”: verify against the cited passage.")
    dates = [get_corpus().doc(c.doc_id).meta.date or "" for c in answer.citations]
    # numbers the user typed may be echoed back (e.g. "a weight of 70 without a unit")
    problems = grounding(answer, extra_sources=_SCOPE_SOURCES + dates + [clean])
    if problems:
        answer.guard_notes.extend(problems)
        log.warning("grounding guard: %d problem(s) in a %s answer", len(problems), answer.intent)
