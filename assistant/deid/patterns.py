"""Identifier formats Philter's word filter cannot see whole, as typed patterns: (placeholder, regex) in order.

Philter decides word by word; a record number is safe digits to it ("4821 9930"), an e-mail spelled out
("jane at canary dot test") is safe words. These run first and replace the whole identifier. A pattern with
a `kw` group keeps its keyword ("MRN [MRN]") so the stored text still says what was there.
"""

from __future__ import annotations

import re

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})(?!\d)"
    r"|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}(?!\d)"
    r"|\d{1,2}[ -]" + _MONTH + r"[ -]\d{2,4}(?!\d)"
    + rf"|{_MONTH}[ \t]+\d{{1,2}}(?:st|nd|rd|th)?,?[ \t]+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?{_MONTH},?[ \t]+\d{{4}}"
    rf"|{_MONTH},?[ \t]+\d{{4}}"
    r"|[01]\d[0-3]\d(?:19|20)\d\d(?!\d)"  # 04121961
    r"|(?:19|20)\d\d(?!\d))"
)
_BIRTH_WORD = (r"(?:DOB|D\.?[ \t]?O\.?[ \t]?B\.?|date[ \t]+of[ \t]+birth|birth[ \t]?-?date|birth[ \t]?day|b-?day|"
               r"born(?:[ \t]+(?:on|in))?|(?<![\w.])b\.)(?![\w])")
_BIRTH_GAP = (r"(?:[ \t]*\((?:[mdy]{1,4}[/.\- ]?){3}\))?"
              r"(?:[ \t:#=/.,\-]|(?<![a-z])(?:is|was|of|sex|age|gender|f|m)(?![a-z])){0,10}")
DOB = re.compile(rf"(?P<kw>\b{_BIRTH_WORD}{_BIRTH_GAP})(?P<id>{DATE})|(?P<bare>{DATE})(?=[ \t]*[(\[][ \t]*(?:DOB|D\.O\.B\.?|"
                 r"date of birth|birth ?date)[ \t]*[)\]])", re.IGNORECASE)

# an id may be written in spaced groups ("4821 9930"), but a group followed by a unit is a figure ("70 kg")
_UNIT = r"(?:kg|lbs?|mg|ml|mcg|units?|vials?|cm|mm|yo|y/o|years?|yrs?|days?|weeks?|cycles?|%)"
_ID_TOKEN = (r"(?=[A-Z0-9-]*\d)[A-Z0-9](?:[A-Z0-9-]|[ ](?=\d{2,}(?![\d.]*[ \t]*" + _UNIT + r"\b)))*[A-Z0-9](?![\w-])")
_SEP = r"[ \t]*(?:[:#=.][ \t]*)*(?:(?:is|no\.?|number|num|nbr)[ \t]*(?:[:#.][ \t]*)*)?"


def _keyword_id(words: str) -> re.Pattern:
    return re.compile(rf"(?P<kw>\b(?:{words}){_SEP})(?P<id>{_ID_TOKEN})", re.IGNORECASE)


_NUM = r"(?:[ \t]*(?:#|id\b|i\.d\.|number\b|no\b\.?|num\b|nbr\b|n°))"
MRN = _keyword_id(
    r"MRN|MR[ \t]?#|MR[ \t]+(?:no\b\.?|number\b)|med(?:ical)?[ \t]+rec(?:ord)?s?" + _NUM + r"?|chart" + _NUM
    + r"|(?:patient|pt)" + _NUM + r"|hospital" + _NUM + r"|unit" + _NUM + r"|EMPI|MPI")
ENCOUNTER = _keyword_id(
    r"encounter" + _NUM + r"?|enc" + _NUM + r"|FIN" + _NUM + r"?|CSN|HAR|visit" + _NUM + r"|account" + _NUM + r"?"
    r"|acct" + _NUM + r"?|a/c" + _NUM + r"?|case" + _NUM + r"|claim" + _NUM + r"|auth(?:orization)?" + _NUM
    + r"|ref(?:erence)?" + _NUM + r"|invoice" + _NUM + r"?|billing" + _NUM + r"|order" + _NUM)
MEMBER = _keyword_id(
    r"(?:member|subscriber|insurance|insured|beneficiary|medicaid|medicare|policy(?:holder)?|health[ \t]+plan|plan"
    r"|group|grp|ins)" + _NUM + r"|MBI|HICN|HIC" + _NUM + r"?|member|subscriber|policy|group|grp|(?-i:ID)(?=[:# \t]+[A-Z0-9-]{6})")
LICENSE = _keyword_id(
    r"(?:driver'?s?[ \t]+)?licen[cs]e" + _NUM + r"?|DL" + _NUM + r"?|passport" + _NUM + r"?|state[ \t]+id"
    r"|certificate" + _NUM + r"?|cert" + _NUM + r"|DEA" + _NUM + r"?|permit" + _NUM + r"?")
DEVICE = _keyword_id(
    r"serial" + _NUM + r"?|S/?N|device" + _NUM + r"?|UDI|IMEI|VIN|(?:license[ \t]+)?plate" + _NUM + r"?|tag" + _NUM
    + r"|reg(?:istration)?" + _NUM + r"|lot" + _NUM + r"?|model" + _NUM + r"|implant" + _NUM + r"?")
BIOMETRIC = re.compile(
    r"(?P<kw>\b(?:fingerprint|finger[ \t]?print|retina(?:l)?(?:[ \t]+scan)?|iris(?:[ \t]+scan)?|voice[ \t]?print"
    r"|face(?:[ \t]+(?:scan|template|id))?|facial[ \t]+(?:scan|template|id)|palm[ \t]?print|biometric)"
    rf"(?:[ \t]+(?:id|template|hash|record|scan|on[ \t]+file))?{_SEP})(?P<id>[A-Z0-9][\w.-]{{3,}})",
    re.IGNORECASE)
PHOTO = re.compile(r"(?P<bare>(?<![\w.-])[\w.-]+\.(?:jpe?g|png|heic|gif|bmp|tiff?|dcm|webp)\b)", re.IGNORECASE)

URL = re.compile(r"(?P<bare>\b(?:https?://|ftp://|www\.)[^\s<>\"')]+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|edu|gov|io|"
                 r"health|care|us|uk|ca|de|fr)/[^\s<>\"')]*)", re.IGNORECASE)
IP = re.compile(r"(?P<bare>(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.]\d)"
                r"|(?<![\w:])(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}(?![\w:]))", re.IGNORECASE)
EMAIL = re.compile(
    r"(?P<bare>(?<![\w.+%-])[A-Za-z0-9._%+-]+[ \t]*(?:@|\(at\)|\[at\]|\{at\}|<at>|[ \t]at[ \t])[ \t]*"
    r"[A-Za-z0-9-]+(?:[ \t]*(?:\.|\(dot\)|\[dot\]|\{dot\}|<dot>|[ \t]dot[ \t])[ \t]*[A-Za-z0-9-]+)*"
    r"[ \t]*(?:\.|\(dot\)|\[dot\]|\{dot\}|<dot>|[ \t]dot[ \t])[ \t]*(?:com|org|net|edu|gov|io|test|example|mail|us|uk|ca"
    r"|de|fr|info|biz|me|co|health)(?![\w-]))", re.IGNORECASE)
EMAIL_PLAIN = re.compile(r"(?P<bare>(?<![\w.+%-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-]))")
SSN = re.compile(
    r"(?P<kw>\b(?:SSN|SS[ \t]?#|soc(?:ial)?[ \t]+sec(?:urity)?(?:[ \t]+(?:number|no\.?|#))?|SIN|NI(?:NO)?)"
    r"[ \t]*(?:[:#][ \t]*)?(?:is[ \t]+|ending(?:[ \t]+in)?[ \t]+|last[ \t]+4[ \t:]+)?)"
    r"(?P<id>\d{3}[ .-]?\d{2}[ .-]?\d{4}(?!\d)|\d{4}(?!\d)|[A-Z]{2}[ ]?\d{2}[ ]?\d{2}[ ]?\d{2}[ ]?[A-D])"
    r"|(?P<bare>(?<![\w.-])\d{3}(?P<sep>[ .-])\d{2}(?P=sep)\d{4}(?![\w-]|\.\d))",
    re.IGNORECASE)
MBI = re.compile(r"(?P<bare>(?<![\w-])[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?"
                 r"[AC-HJKMNP-RT-Y]{2}\d{2}(?![\w-]))", re.IGNORECASE)
PHONE = re.compile(
    r"(?P<bare>(?<![\w+.-])(?:(?:\+\d{1,3}|1)[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?:[ \t]*(?:x|ext\.?)[ \t]*\d{1,5})?"
    r"(?![\w-])|(?<![\w+-])\+\d{1,3}(?:[ .-]?\d{2,5}){2,4}(?![\w-])|(?<![\w/.-])\d{3}-\d{4}(?![\w-]))"
    r"|(?P<kw>\b(?:phone|ph|tel|telephone|cell|mobile|mob|home|work|fax|pager|contact|call|text|whatsapp)\b\.?[ \t]*"
    r"(?:#|no\.?|number)?[ \t]*(?::[ \t]*)?(?:is[ \t]+|at[ \t]+)?)"
    r"(?P<id>(?:\+?1)?\d{10}(?!\d)|\d{3}[ .-]?\d{4}(?![\w-])|\d{3}[ .]\d{3}[ .]\d{4}(?![\w-]))",
    re.IGNORECASE)
_STATES = ("AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|"
           "OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC|PR")
ZIP = re.compile(
    r"(?P<bare>(?<![\w-])\d{5}-\d{4}(?![\w-])"
    rf"|(?<=[ \t,])(?-i:(?:{_STATES}))\.?[ \t]+\d{{5}}(?![\w-])"
    r"|(?<![\w])(?-i:[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z])[ ]?\d(?-i:[ABCEGHJ-NPRSTV-Z])\d(?![\w])"  # Canada
    r"|(?<![\w])(?-i:[A-Z]{1,2}\d[A-Z\d]?)[ ]\d(?-i:[ABD-HJLNP-UW-Z]{2})(?![\w]))"  # UK
    r"|(?P<kw>\b(?:zip[ \t]?code|zip|postal[ \t]+code|post[ \t]?code|PLZ|CP)\b[ \t]*[:#]?[ \t]*)"
    r"(?P<id>(?=[A-Z0-9 -]*\d)[A-Z0-9][A-Z0-9 -]{2,9}[A-Z0-9])",
    re.IGNORECASE)
_STREET_WORD = r"(?:[A-Z][A-Za-z'.-]*|\d{1,3}(?:st|nd|rd|th))"
_SUFFIX = (r"(?i:street|st|avenue|ave|road|rd|boulevard|blvd|drive|dr|lane|ln|way|court|ct|place|pl|terrace|ter|"
           r"parkway|pkwy|highway|hwy|circle|cir|square|sq|trail|trl|crescent|cres|close|row|mews|grove|gardens)")
ADDRESS = re.compile(
    rf"(?P<bare>(?<![\w.-])\d{{1,6}}[A-Z]?[ \t]+(?:{_STREET_WORD}[ \t]+){{1,4}}{_SUFFIX}\b\.?"
    r"(?:,?[ \t]*(?i:apt|apartment|unit|suite|ste|flat|#)\.?[ \t]*#?[A-Za-z0-9-]+)?"
    r"|(?i:\b(?:apt|apartment|unit|suite|ste|flat)\.?[ \t]*#?[ \t]*\d+[A-Z]?\b)"
    r"|\b(?i:p\.?[ \t]?o\.?[ \t]*box)[ \t]+\d{1,6}\b"
    r"|(?<![\w./-])\d{1,5}[a-z]?,?[ \t]+(?i:rue|avenue|av\.|boulevard|bd|chemin|all[ée]e|place|impasse|quai|calle|avenida|"
    r"av\.|carrer|via|viale|piazza|corso|rua|travessa|largo|straat|laan|plein|ulitsa|ul\.)[ \t]+(?:d[eiu]s?[ \t]+|la[ \t]+)?"
    r"[A-Z][^\n,;]{1,40}"
    r"|\b(?i:rue|calle|avenida|via|viale|rua|chemin)[ \t]+(?:de[ \t]+|del[ \t]+|da[ \t]+|la[ \t]+|los[ \t]+)*[A-Z][\w'-]+(?:[ \t]+[A-Z][\w'-]+)*,?[ \t]*\d{1,5}[a-z]?\b"
    r"|\b[A-Z][\wäöüß-]*(?i:stra(?:ß|ss)e|str\.|gasse|weg|platz|allee|ring|damm|gracht|straat|vej|gatan|gata)[ \t]*\d{1,4}[a-z]?\b)"
)
AGE_OVER_89 = re.compile(
    r"(?P<bare>(?<![\d.])(?:9\d|1[0-2]\d)[ \t]*(?:-|[ \t])?(?:y/?o\b|yo\b|yrs?\b|years?\b|year-old\b|y\.o\.?|yr-old\b|"
    r"y(?:ea)?r?s?[ \t-]+old\b)(?:[ \t-]*old\b)?"
    r"|\b(?:age[d:]?|aged)[ \t]*(?:is[ \t]*)?(?:9\d|1[0-2]\d)(?!\d|\.\d)"
    r"|(?<![\w.#/-])(?:9\d|1[0-2]\d)[ \t]?(?:yo)?(?:f|m)\b"
    r"|\b(?:ninety|one hundred)[ -]\w+[ -]years?[ -]old\b)",
    re.IGNORECASE)
EVENT_DATE = re.compile(
    rf"(?P<kw>\b(?:admitted|admission|adm|discharged|discharge|d/c|died|death|deceased|expired|DOD)\b[ \t]*(?:date)?[ \t]*"
    rf"(?:on|:|-)?[ \t]*)(?P<id>{DATE})", re.IGNORECASE)
# digit groups that add up to an id ("4821 9930", "00-482-913"), never a date or a dose
DIGIT_RUN = re.compile(r"(?<![\w.$/-])\d{1,6}(?:[ .-]\d{1,6}){1,5}(?![\w/-]|\.\d)")
LONG_NUMBER = re.compile(r"(?<![\w.$,/-])\d{5,}(?![\w,/-]|\.\d)")

# (placeholder, pattern): earlier ones win; e-mail and URLs before names and phone numbers
TYPED: list[tuple[str, re.Pattern]] = [
    ("[EMAIL]", EMAIL_PLAIN), ("[EMAIL]", EMAIL), ("[URL]", URL), ("[IP]", IP), ("[DOB]", DOB), ("[DATE]", EVENT_DATE),
    ("[SSN]", SSN), ("[MEMBER_ID]", MBI), ("[MRN]", MRN), ("[ID]", ENCOUNTER), ("[MEMBER_ID]", MEMBER),
    ("[LICENSE]", LICENSE), ("[DEVICE]", DEVICE), ("[BIOMETRIC]", BIOMETRIC), ("[PHOTO]", PHOTO),
    ("[PHONE]", PHONE), ("[AGE]", AGE_OVER_89), ("[ZIP]", ZIP), ("[ADDRESS]", ADDRESS),
]
