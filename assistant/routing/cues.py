"""The words that say what kind of turn this is: a correction, a what-if, a follow-up, a claim."""

from __future__ import annotations

import re

CORRECTION = re.compile(
    r"^\s*(?:oops|sorry|sry|srry|correction|correct(?:ed)?\s*:|actually|my bad|i misread|misread|typo|wait|no wait|scratch that|"
    r"update|updated|change (?:that|it) to|make (?:that|it)|i meant|meant)\b|\b(?:not\s+[\w.+/-]+\s*,?\s*but|instead of|"
    r"i misread|misread|typo|correction|actually|sorry|oops|i meant|not \d[\d.]*\s*(?:kg|lbs?)?\s*$)",
    re.IGNORECASE)
WHAT_IF = re.compile(
    r"^\s*(?:and\s+|ok(?:ay)?\s*,?\s*|so\s+)?(?:what if|what about if|suppose|supposing|hypothetically|say she|if she|if he|if pt|"
    r"if the patient|would (?:it|she|that)|what would|how about if|and if|and on the|and with|and under|same (?:patient|pt) but|"
    r"what about (?:if|with|on|at)|and (?:at|for) \d)", re.IGNORECASE)
NEXT_CYCLE = re.compile(
    r"\b(?:next|following|subsequent|the one after|after that|cycle after(?: that)?|2nd|second)\s*(?:cycle|dose|infusion|one)?\b|"
    r"\b(?:and|what about|how about)\s+(?:cycle|c)\s*\d{1,2}\b|\bone more\b|\b\d{1,2}(?:st|nd|rd|th)\s*(?:one|cycle|dose)?\s*\??\s*$",
    re.IGNORECASE)
COURSE = re.compile(r"\b(?:whole|entire|full|total|all)\b.{0,20}\b(?:course|cycles|treatment|year)\b|\b(?:the|a|per|over)\s+"
                    r"(?:course|year)\b|\bover\s+\d{1,2}\s+cycles\b|\bannual(?:ly)?\b|\byearly\b|\btotal for\b|\bcourse total\b",
                    re.IGNORECASE)
PAYMENT = re.compile(r"\b(?:medicare|pay|pays|paid|payment|amt|amount|cost|costs|reimburse\w*|allowable|\$)", re.IGNORECASE)
DURATION = re.compile(r"\b(?:how long|duration|approved for|approval (?:length|period)|auth(?:orization)? (?:length|period|good for)|"
                      r"how many months|long'?s the auth|months?)\b", re.IGNORECASE)
DOSE_WORDS = re.compile(r"\b(?:vials?|units|jw|jz|waste|dose|mg|ml|volume|draw|drawn|withdraw|bag|how many)\b", re.IGNORECASE)
OTHER_TOPIC = re.compile(r"\b(?:cover\w*|criteria|qualif\w*|j-?codes?|ndc|hcpcs|enhertu|herceptin|store|storage|reconstitut\w*|"
                         r"dilut\w*|filter|infus\w* time|how long|lvef|side effects?|pay\w*|medicare|cost)\b", re.IGNORECASE)
MANAGE = re.compile(r"\b(?:what do (?:we|i) do|hold|held|withhold|interrupt\w*|reduc\w*|dose[- ]reduc\w*|discontinu\w*|"
                    r"stop|d/c|resume|restart|re-?challenge|manage\w*|modif\w*|adjust\w*|still (?:give|dose)|"
                    r"can (?:we|i) (?:give|dose|treat|continue)|ok to (?:give|dose|treat|continue)|safe to)\b", re.IGNORECASE)
FOLLOW_UP = re.compile(r"^\s*(?:and|also|plus|what about|how about|same for|and for|and the|the|which|so|then|ok and|"
                       r"how long|how often|how much|is that|does that|is it|does it|can it|what's|whats)\b", re.IGNORECASE)
CLAIM = re.compile(r"\b(?:claim|claims|billed|billing (?:lines|looks?)|cms[- ]?1500|ub[- ]?04|does this look right|look right|look ok|"
                   r"check (?:this|my|the) (?:claim|billing|lines|codes)|line items?|units? billed)\b", re.IGNORECASE)
CLAIM_LINE = re.compile(r"\bj\d{4}\b[^.\n]{0,30}?\b\d{1,4}\s*(?:units?|u)\b|\b(?:units?|x)\s*\d{1,4}\b|"
                        r"\bj\d{4}(?:\s*-\s*j[wz])?\s*(?:x|×|:)?\s*\d{1,4}\b", re.IGNORECASE)
PRICE = re.compile(r"\b(?:payment (?:rate|limit)|asp|reimburse\w*|allowable|allowed amount|pay(?:s|ment)? per (?:mg|unit)|"
                   r"per[- ]unit (?:rate|price|payment)|rate this quarter|price per mg|how much does medicare pay)\b",
                   re.IGNORECASE)
# A message that asks two things: "dose, and does Centene cover it?"
SPLIT = re.compile(r"(?:[,;]|\?)\s*(?:and|also|plus)\s+(?=(?:does|do|is|can|will|what|how|which|coverage|cover|covered|"
                   r"dose|vials?|the dose|pa|prior auth|j-?code|ndc)\b)", re.IGNORECASE)
FILLER = re.compile(r"\b(?:she|he|pt|patient|is|was|has|had|her|his|the|a|an|it's|its|it|and|on|with|ok|okay|yes|yep|yeah|"
                    r"no|it|that|this|for|of|in|at|to|just|now|also|plus|then|please|pls|thx|thanks|here|member|weighs|"
                    r"weight|wt|dx|ins|age|years?|old|yo|y/o|f|m|female|male|kg|lb|lbs|mg/kg|per|every|q|cycle|request|"
                    r"plan|by|from|prescribed|prescribing|prescriber|prior|previous|initial|continuation|single|agent|"
                    r"alone|onc|oncologist|commercial|medicaid|marketplace|centene|oscar|ambetter|mbc|ebc|adjuvant|metastatic)\b",
                    re.IGNORECASE)


ASKING = re.compile(r"^\s*(?:and\s+|so\s+)?(?:does|do|is|are|can|could|would|will|should|what|whats|what's|which|how|when|"
                    r"where|who|why)\b|\b(?:cover|covered|coverage|qualif\w*|meet|criteria|dose|dosing|vials?|how many|"
                    r"j-?code|ndc|waste|units)\b", re.IGNORECASE)


def mostly_facts(text: str, spans: list[tuple[int, int]] = ()) -> bool:
    """A reply that states facts and little else: '75 kg', 'commercial', 'initial, oncologist, single agent'.

    spans: where the facts were read (their evidence), blanked before the remaining words are counted."""
    if ASKING.search(text):
        return False
    chars = list(text)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    rest = FILLER.sub(" ", "".join(chars).lower())
    rest = re.sub(r"[\d.,:;+/()\-#%?!&]+", " ", rest)
    return len(rest.split()) <= 3

# "write the PA letter", "LMN pls", "draft narrative": asking for the letter of medical necessity. A question
# about letters ("does Centene need a letter of medical necessity?") or a letter received is not.
LETTER = re.compile(r"\b(?:letter|narrative|l\.?o?\.?m\.?n\.?)(?!\w)|\bwrite[- ](?:it |this |that )?up\b", re.IGNORECASE)
NECESSITY = re.compile(r"\bmed(?:ical)?\.? necessity\b(?!\s+(?:criteria|review|guidelines?|policy))", re.IGNORECASE)
LETTER_ASK = re.compile(
    r"\b(?:write|draft|generate|make|create|prep|prepare|compose|produce|give|need|want|build|type|put together|"
    r"pls|please|plz|now|ok)\b", re.IGNORECASE)
LETTER_RECEIVED = re.compile(r"\b(?:letter|narrative)\s+(?:from|came|says|said|back)\b|\b(?:denial|denied|got|received)\b.{0,20}"
                             r"\bletter\b|\b(?:section|field|box)\b", re.IGNORECASE)
REQUEST_QUESTION = re.compile(r"^\s*(?:ok\s+|so\s+|and\s+)?(?:can|could|would|will)\s+(?:you|u)\b", re.IGNORECASE)
CONTACT = re.compile(r"\b(?:fax|phone|portal|address|submit|send|contact|number)\b|#", re.IGNORECASE)
# "3.6 mg/kg" in a case is the regimen the policy checks, not a request for a dose (routing and intent)
REGIMEN_DOSE = re.compile(r"\b\d+(?:\.\d+)?\s*mg\s*/\s*kg\b", re.IGNORECASE)
