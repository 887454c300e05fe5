"""What the user wants: rules over the words used, then the embedding model against intent examples.

Rules catch what clinicians and billers write ("dose for 70 kg", "J9354", "does Centene cover");
the bundled MiniLM, compared with the examples in data/intents.yaml, settles paraphrase the rules miss.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import yaml
from rapidfuzz import fuzz, process

from assistant.facts import PatientFacts
from assistant.routing.cues import REGIMEN_DOSE

INTENTS = ("dose", "policy", "code", "document", "out_of_scope")
SIMILARITY_MIN = 0.35  # the embedding fallback decides only when its best intent is at least this similar


@lru_cache(maxsize=1)
def _intent_examples() -> dict[str, list[str]]:
    text = resources.files("assistant.data").joinpath("intents.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _fuzzy_has(text: str, words: list[str], cutoff: int = 85) -> bool:
    tokens = re.findall(r"[a-z][a-z\-]{3,}", text.lower())
    for word in words:
        if word in text.lower():
            return True
        if tokens and process.extractOne(word, tokens, scorer=fuzz.ratio, score_cutoff=cutoff):
            return True
    return False


# -- intent --------------------------------------------------------------------
_CODE_RX = re.compile(r"\bj\d{4}\b|\b\d{5}-\d{3,4}-\d{1,2}\b|\b\d{10,11}\b", re.I)
_DOSE_WORDS = ["dose", "dosing", "vial", "vials", "waste", "units", "jw", "jz", "mg", "reimbursement", "payment", "pay", "paid",
               "bill", "billing", "how much", "calculate", "volume", "ml"]
_POLICY_WORDS = ["cover", "covered", "coverage", "criteria", "prior auth", "authorization", "eligible",
                 "qualify", "meet", "approve", "approval", "pa ", "policy", "exception", "non-preferred"]
_DRUG_WORDS = ["kadcyla", "t-dm1", "tdm1", "ado-trastuzumab", "trastuzumab", "emtansine", "enhertu", "t-dxd",
               "herceptin", "perjeta", "phesgo", "margenza", "pertuzumab", "deruxtecan", "her2", "j-code", "hcpcs"]
_SCOPE_WORDS = _DRUG_WORDS + ["infusion", "reconstitut", "dextrose", "filter", "lvef", "hepatotox", "boxed",
                              "katherine", "centene", "oscar", "evicore", "ndc", "cpt", "icd", "modifier", "asp",
                              "medicare", "payer", "breast", "biomarker", "ihc", "ish", "neratinib", "nsclc",
                              "salivary", "denial", "denied", "claim", "premedication", "side effect", "storage",
                              "vial", "dose", "dosing", "waste", "jw", "jz", "pa", "prior authorization", "d5w", "dilut",
                              "saline", "sodium chloride", "pregnan", "contracept", "pediatric", "lfts", "genentech",
                              "access solutions", "co-pay", "copay", "j code", "j-code"]
_OTHER_DRUGS = re.compile(
    r"\b(keytruda|pembrolizumab|opdivo|nivolumab|tecentriq|atezolizumab|ibrance|palbociclib|verzenio|kisqali|"
    r"tukysa|tucatinib|nerlynx|xeloda|capecitabine|lapatinib|tykerb|avastin|bevacizumab|rituximab|rituxan|"
    r"darzalex|imfinzi|trodelvy|sacituzumab|datroway|datopotamab|insulin|metformin|lisinopril|ozempic|"
    r"semaglutide|tamoxifen|letrozole|anastrozole|cisplatin|carboplatin|doxorubicin|cyclophosphamide|"
    r"ibuprofen|tylenol|acetaminophen|amoxicillin|aspirin)\b",
    re.I,
)


SHORT_DOSE_CHARS = 40
_SHORT_DOSE_ASK = re.compile(r"\bdose\b")
_GENERAL_DOSE = re.compile(r"\b(?:what|standard|recommended|usual|label\w*|max\w*|how|starting|reduc\w*|level|levels|per kg)\b")
_SUBMISSION = re.compile(r"\bwhere (?:do|to|should|can)\b.{0,25}\b(?:send|submit|fax|file)\b|\bwhere to (?:send|submit|fax)\b|"
                         r"\b(?:fax|phone|portal) (?:#|number|no)\b|\bhow (?:do|to) (?:i |we )?(?:submit|send|fax)\b")
_ASKS_COVERAGE = re.compile(r"\b(?:cover\w*|criteria|meets?|eligib\w*|qualif\w*|approvable|approved for)\b")
_CHECK_ASK = re.compile(r"\b(?:pa|auth\w*|coverage|criteria|eligibility|benefits?) check\b|\bcheck (?:the )?(?:coverage|"
                        r"eligibility|criteria|if|whether)\b|\brun (?:a |the )?(?:pa|check|criteria)\b|\bapprovable\b|"
                        r"\bmeets? (?:the )?criteria\b|\bcriteria\s*\?|\bcriteria on\b")


@dataclass
class Intent:
    name: str
    score: float
    by: str  # rule | embedding


_KADCYLA = re.compile(r"\b(kadcyla|kadcila|kadsyla|kadcyl|t-?dm-?1|ado-?trastuzumab|trastuzumab emtansine|j9354)\b", re.I)
_OTHER_HER2 = re.compile(
    r"\b(herceptin|enhertu|t-?dxd|deruxtecan|perjeta|pertuzumab|phesgo|margenza|margetuximab|docetaxel|paclitaxel|"
    r"taxotere|taxol|nab-?paclitaxel|abraxane|lapatinib|neratinib)\b|(?<!ado-)(?<!ado )\btrastuzumab\b(?! emtansine)",
    re.I,
)
_DOSE_ASK = re.compile(r"\b(dose|doses|dosing|dosed|mg/kg|how many vials|how much)\b", re.I)
_CODE_WORDS = re.compile(r"\b(j[- ]?codes?|hcpcs|ndcs?|descriptor|billing units?)\b", re.I)
# Requests for advice no document here gives, even when they mention claims or denials.
_OFF_TOPIC = re.compile(r"\b(lawyer|attorney|legal advice|sue|lawsuit|stocks|stock (?:market|price|tip)s?|invest\w*|recipe|weather)\b", re.I)
# Questions that mention a dose but ask what the documents say, not to compute one for a patient.
_DOC_CUES = re.compile(
    r"\b(monitor\w*|before each|missed|miss(?:es)? a|delay\w*|reduc\w*|re-?escalat\w*|increased? again|sterile water|"
    r"reconstitut\w*|dilut\w*|d5w|dextrose|label(?:ed)? dose|standard dose|recommended dose|usual dose|per kg|"
    r"maximum|max dose|stor(?:e|ed|age)|premedicat\w*|side effects?|toxicit\w*|lfts?|liver|lvef|pregnan\w*|"
    r"pediatric|children|child|elderly|renal|hepatic|concentration|ph|filter|infusion time|how long|"
    r"history|permanent code|before j9354|mechanism|approved|approval date|phone|fax|portal|contact|co-?pay|"
    r"assistance|foundation)\b",
    re.I,
)
# Words that make a coverage question about one patient rather than about the policy in general.
_PATIENT_WORDS = re.compile(r"\b(this|my|the|our|a|an) (patient|pt|member|case|woman|man)\b|\b(she|he|her|his|pt)\b|"
                            r"\b(meet|meets|qualify|qualifies|tried|failed|after (?:two|three|\d|both|all|the) )", re.I)
_PATIENT_FACTS = ("age", "her2_ihc", "her2_ish", "her2_positive", "prior_therapies", "regimen",
                  "line_of_therapy", "number_of_doses", "days_on_therapy", "responding", "weight")


# Abbreviations spelled out for searching the documents, which use the long forms.
_SEARCH_EXPANSIONS = {
    r"\bd5w\b": "5% dextrose", r"\bns\b": "0.9% sodium chloride", r"\blfts?\b": "liver function tests",
    r"\bnrh\b": "nodular regenerative hyperplasia", r"\bdiluents?\b": "dilute; diluted; dilution", r"\bpa\b": "prior authorization", r"\bdos\b": "date of service",
}


def search_query(text: str) -> str:
    """The question with its abbreviations spelled out alongside, for retrieval."""
    extra = [long for rx, long in _SEARCH_EXPANSIONS.items() if re.search(rx, text, re.I)]
    return f"{text} ({'; '.join(extra)})" if extra else text


def _patient_specific(text: str, facts: PatientFacts) -> bool:
    given = facts.stated()
    # a therapy named at all ("after failure of Enhertu") describes a case, even when only asked about
    return any(k in given for k in _PATIENT_FACTS) or bool(facts.preferred_trials or facts.therapies) or \
        bool(_PATIENT_WORDS.search(text))


def classify(text: str, facts: PatientFacts, similarity=None) -> Intent:
    """Rules first; the embedding similarity to intent examples settles the rest."""
    low = f" {text.lower()} "
    in_scope = _fuzzy_has(low, _SCOPE_WORDS, cutoff=88) or bool(_CODE_RX.search(text)) or bool(_KADCYLA.search(text))
    other_drug = _OTHER_DRUGS.search(text)
    about_kadcyla_family = _fuzzy_has(low, _DRUG_WORDS, cutoff=85)
    kadcyla = bool(_KADCYLA.search(text))
    if (other_drug and not about_kadcyla_family) or _OFF_TOPIC.search(text):
        return Intent("out_of_scope", 1.0, "rule")
    codes = bool(_CODE_RX.search(text))
    code_words = bool(_CODE_WORDS.search(text))
    confusion = re.search(
        r"\b(same as|is (?:it|this|j\d{4}) |vs\.?|versus|difference|confus|mix(?:ed)?(?: \w+)? up|which (?:code|drug|product)|"
        r"what (?:drug|product) is|substitut|interchangeab)", low)
    other_her2 = _OTHER_HER2.search(text) or (other_drug and about_kadcyla_family)
    # Dosing another drug is outside the corpus; comparing it with Kadcyla is a product question.
    patient_context = facts.value("payer") or facts.value("unsupported_payer") or bool(facts.received() or facts.not_received())
    if other_her2 and _DOSE_ASK.search(text) and not codes and not code_words and not patient_context:
        if not kadcyla:
            return Intent("out_of_scope", 1.0, "rule")
        if confusion and facts.value("weight") is None:
            return Intent("code", 1.0, "rule")
    names = sum(1 for w in ("kadcyla", "enhertu", "herceptin", "perjeta", "phesgo", "margenza", "t-dxd", "t-dm1", "trastuzumab") if w in low)
    history = re.search(r"\b(before j9354|permanent code|prior to j9354|c9131|j3490|j9999)\b", low) or (
        re.search(r"\bcodes?\b", low) and re.search(r"\b(history|previously|used to be|before)\b", low))
    if history:  # what codes were used before J9354: the billing guide's code history
        return Intent("document", 1.0, "rule")
    if codes and (confusion or names or "ndc" in low or len(text) < 40) and not re.search(r"\bcover|criteria|eligib|approv", low):
        if not (facts.value("weight") and facts.value("weight_unit")):
            return Intent("code", 1.0, "rule")
    policy_hit = any(w in low for w in _POLICY_WORDS) or facts.value("payer") is not None or facts.value("unsupported_payer")
    # "3.6 mg/kg q21d" in a case is the regimen the policy checks, not a request for a dose
    dose_hit = any(re.search(rf"\b{re.escape(w)}\b", REGIMEN_DOSE.sub(" ", low)) for w in _DOSE_WORDS)
    if _SUBMISSION.search(low) and not _ASKS_COVERAGE.search(low):
        return Intent("document", 1.0, "rule")  # "where do I send the PA": the payer's submission details
    if (facts.value("payer") or facts.value("unsupported_payer")) and _CHECK_ASK.search(low):
        return Intent("policy", 1.0, "rule")  # "need centene PA check", "approvable?"
    if (facts.value("weight") is not None or facts.value("prescribed_mg") is not None) and (
            dose_hit or facts.value("indication") or len(text) < 40):
        if not (policy_hit and not dose_hit):
            return Intent("dose", 1.0, "rule")
    if policy_hit and (facts.value("payer") or facts.value("unsupported_payer") or re.search(r"\bcover|meet|criteria|eligib|qualif|approv", low)):
        general = not re.search(r"\b(what (?:does|is)|where|how do|list|which documents|phone|fax|portal|contact)\b", low)
        if facts.value("unsupported_payer") or (_patient_specific(text, facts) and (general or facts.value("payer"))):
            return Intent("policy", 1.0, "rule")
        if facts.value("payer"):  # a question about the policy itself: answered from that payer's document
            return Intent("document", 0.9, "rule")
    if (confusion and names >= 2) or (names and code_words and re.search(r"\bwhat(?:'s| is)|which|\bis\b", low) and "dose" not in low and not history):
        return Intent("code", 0.9, "rule")
    if re.search(r"\b(calculate|compute|how many vials|what(?:'s| is) the dose|dose for|vials for)\b", low) and not _DOC_CUES.search(text):
        return Intent("dose", 0.9, "rule")
    if _SHORT_DOSE_ASK.search(low) and len(text) <= SHORT_DOSE_CHARS and kadcyla and not _DOC_CUES.search(text) \
            and not _GENERAL_DOSE.search(low):
        return Intent("dose", 0.9, "rule")  # "kadcyla dose adj pls", "need t-dm1 dose": this patient's dose (weight asked)
    similarity = similarity(text) if callable(similarity) else similarity
    if similarity:
        best = max(similarity, key=similarity.get)
        if best == "out_of_scope" and in_scope:
            ranked = sorted(similarity, key=similarity.get, reverse=True)
            best = ranked[1]
        if similarity[best] >= SIMILARITY_MIN and (in_scope or best == "out_of_scope"):
            if best == "dose" and facts.value("weight") is None and (
                _DOC_CUES.search(text) or not re.search(r"\b(dose|dosing|vial|waste|jw|jz|units)\b", low)
            ):
                best = "document"
            if best == "policy" and not (facts.value("payer") or facts.value("unsupported_payer") or "cover" in low or "criteria" in low):
                best = "document"
            if best == "code" and not (codes or confusion or code_words or names >= 2):
                best = "document"
            return Intent(best, similarity[best], "embedding")
    if in_scope:
        return Intent("document", 0.5, "rule")
    return Intent("out_of_scope", 0.5, "rule")


class IntentModel:
    """Cosine similarity of a question to the intent examples (bundled MiniLM)."""

    def __init__(self):
        from assistant.embedder import embed

        self._embed = embed
        examples = _intent_examples()
        self.labels: list[str] = []
        texts: list[str] = []
        for label, items in examples.items():
            for item in items:
                self.labels.append(label)
                texts.append(item)
        self.vectors = np.asarray(embed(texts))

    def similarity(self, text: str) -> dict[str, float]:
        scores = self.vectors @ np.asarray(self._embed([text])[0])
        best: dict[str, float] = {}
        for label, score in zip(self.labels, scores.tolist()):
            best[label] = max(best.get(label, -1.0), score)
        return best


@lru_cache(maxsize=1)
def intent_model() -> IntentModel:
    return IntentModel()
