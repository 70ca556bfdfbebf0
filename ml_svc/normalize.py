"""Bank-statement descriptor normalisation: raw text -> canonical merchant and model text.

``SQ *JOES COFFEE 0423 LDN GB`` -> merchant ``Joes Coffee`` (key ``joes coffee``);
``CARD PAYMENT TO TESCO STORES 3297 ON 07-11-2024`` -> ``Tesco Stores``;
``PURCHASE AUTHORIZED ON 03/12 STARBUCKS STORE 1234 SEATTLE WA S461234567890 CARD 1234`` ->
``Starbucks``.

Steps, in order: unwrap bank narratives (keeping what kind of narrative it was), strip processor
prefixes (keeping which processor), drop references, card and terminal numbers, phone numbers,
dates and times, then trailing country codes, US states and well-known cities, then store
numbers. Pure functions, no I/O: the hot path of every classification.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MONTH = (
    r"(?:JAN(?:UARY)?|FEB(?:RUARY)?|MAR(?:CH)?|APR(?:IL)?|MAY|JUNE?|JULY?|AUG(?:UST)?|"
    r"SEP(?:T(?:EMBER)?)?|OCT(?:OBER)?|NOV(?:EMBER)?|DEC(?:EMBER)?)"
)
#: The " ON <date> ..." tail of a card narrative: 07-11-2024, 12/03, 01 MAR, 1MAR24, 01 MARCH 2025.
_ON_DATE = (
    r" ON (?:\d{1,2}[-/.]\d{1,2}(?:[-/.]\d{2,4})?"
    rf"|\d{{1,2}}[- ]?{_MONTH}(?:[- ]?\d{{2,4}})?\b).*"
)

# Bank narratives that wrap a merchant, most specific first. Group "m" is the merchant part.
_NARRATIVES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("card", rf"^CARD PAYMENT TO (?P<m>.+?)(?:{_ON_DATE})?$"),
        ("card", r"^CONTACTLESS (?:CARD )?PAYMENT (?:TO )?(?P<m>.+?)(?: ON \d.*)?$"),
        (
            "direct_debit",
            r"^DIRECT DEBIT(?: PAYMENT)?(?: TO)? (?P<m>.+?)(?:\s*,?\s*(?:REF|REFERENCE)\b.*)?$",
        ),
        ("bill", r"^BILL PAYMENT (?:TO|VIA FASTER PAYMENT TO) (?P<m>.+?)(?:\s*,?\s*REF\b.*)?$"),
        ("standing_order", r"^STANDING ORDER (?:TO )?(?P<m>.+?)(?:\s*,?\s*REF\b.*)?$"),
        (
            "transfer_in",
            r"^(?:FASTER PAYMENT|BANK TRANSFER|TRANSFER|CREDIT|BACS|BGC|PAYMENT) "
            r"(?:RECEIVED )?FROM (?P<m>.+?)(?:\s*,?\s*REF\b.*)?$",
        ),
        (
            "transfer_out",
            r"^(?:FASTER PAYMENT|BANK TRANSFER|TRANSFER|ONLINE TRANSFER|INTERNET TRANSFER|"
            r"MOBILE TRANSFER)(?: SENT)? TO (?P<m>.+?)(?:\s*,?\s*REF\b.*)?$",
        ),
        (
            "card",
            r"^(?:RECURRING )?PURCHASE AUTHORI[SZ]ED ON \d{1,2}/\d{1,2} (?P<m>.+?)"
            r"(?: [SP]\d{6,})?(?: CARD \d{4})?$",
        ),
        ("card", r"^(?:POS DEBIT|POS PURCHASE|POS WITHDRAWAL|POS) (?P<m>.+)$"),
        (
            "card",
            r"^(?:DEBIT CARD PURCHASE|DEBIT CARD PURCHASE -|CHECKCARD|CHECK CARD PURCHASE|"
            r"DBT CRD|VISA DEBIT|VISA PURCHASE|CARD PURCHASE|PURCHASE)(?: \d{4})?\s*-?\s*"
            r"(?P<m>.+)$",
        ),
        ("direct_debit", r"^(?:DD|DDR|D/D) (?P<m>.+)$"),
        ("direct_debit", r"^(?P<m>.+?) (?:DD|DDR|D/D)$"),
        ("card", r"^(?:VIS|DEB|CPT|CHIP AND PIN|TAP) (?P<m>.+)$"),
        (
            "ach",
            r"^(?:ACH DEBIT|ACH CREDIT|ACH|ELECTRONIC PAYMENT|ONLINE PAYMENT)\s*-?\s*(?P<m>.+)$",
        ),
    )
)

# Payment processors / facilitators that prefix the real merchant: ``SQ *NAME``, ``TST* NAME``.
PROCESSORS: tuple[str, ...] = (
    "PAYPAL",
    "PYPL",
    "SQUARE",
    "SQ",
    "TST",
    "TOAST",
    "PP",
    "SUMUP",
    "SMP",
    "ZETTLE",
    "IZETTLE",
    "IZ",
    "SP",
    "STRIPE",
    "CLOVER",
    "LSP",
    "LIGHTSPEED",
    "CKO",
    "FS",
    "FSPRG",
    "VIVA",
    "WINDCAVE",
    "PADDLE.NET",
    "PADDLE",
    "GOOGLE",
    "APL",
    "AMZ",
    "ZLR",
    "DNH",
    "WPY",
    "PMT",
)
_PROCESSOR_RE = re.compile(
    r"^(?P<p>" + "|".join(re.escape(p) for p in PROCESSORS) + r")\s*(?:\*|_\*?|\s\*)\s*"
)

COUNTRY_CODES = frozenset(
    [
        "GB",
        "GBR",
        "UK",
        "US",
        "USA",
        "IE",
        "IRL",
        "AU",
        "AUS",
        "CA",
        "CAN",
        "FR",
        "FRA",
        "DE",
        "DEU",
        "ES",
        "ESP",
        "IT",
        "ITA",
        "NL",
        "NLD",
        "NZ",
        "NZL",
    ]
)
US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
    ]
)
# Cities and areas common on UK/US statements (last tokens of a descriptor). Multi-word first.
_CITY_WORDS = (
    "LONDON LDN MANCHESTER BIRMINGHAM LEEDS GLASGOW EDINBURGH LIVERPOOL BRISTOL SHEFFIELD "
    "CARDIFF BELFAST NOTTINGHAM LEICESTER COVENTRY NEWCASTLE BRIGHTON OXFORD CAMBRIDGE "
    "READING YORK BATH EXETER NORWICH SOUTHAMPTON PORTSMOUTH PLYMOUTH ABERDEEN DUNDEE SWANSEA "
    "DERBY STOKE WOLVERHAMPTON SUNDERLAND HULL PRESTON BOLTON CROYDON ISLINGTON HACKNEY "
    "CAMDEN BRIXTON CLAPHAM STRATFORD WIMBLEDON KINGSTON RICHMOND WATFORD LUTON MILTON KEYNES "
    "GUILDFORD CHELTENHAM GLOUCESTER IPSWICH COLCHESTER SEATTLE CHICAGO BOSTON HOUSTON DALLAS "
    "AUSTIN DENVER PHOENIX ATLANTA MIAMI ORLANDO PORTLAND OAKLAND BROOKLYN QUEENS BRONX "
    "MANHATTAN NYC SEATTLE DETROIT PHILADELPHIA PITTSBURGH CLEVELAND COLUMBUS CINCINNATI "
    "NASHVILLE MEMPHIS CHARLOTTE RALEIGH TAMPA BALTIMORE MINNEAPOLIS MILWAUKEE SACRAMENTO "
    "HONOLULU ANCHORAGE TUCSON ALBUQUERQUE OMAHA TULSA ARLINGTON SYDNEY MELBOURNE DUBLIN "
    "TORONTO WASHINGTON "
)
CITIES: tuple[str, ...] = (
    *sorted(_CITY_WORDS.split()),
    "NEW YORK",
    "LOS ANGELES",
    "SAN FRANCISCO",
    "SAN DIEGO",
    "SAN JOSE",
    "SAN ANTONIO",
    "LAS VEGAS",
    "SALT LAKE CITY",
    "KANSAS CITY",
    "ST LOUIS",
    "NEW ORLEANS",
    "MILTON KEYNES",
    "STOKE ON TRENT",
    "NEWCASTLE UPON TYNE",
    "CANARY WHARF",
    "WEST END",
)
_CITY_SUFFIX_RE = re.compile(
    r"(?:\s+(?:" + "|".join(re.escape(c) for c in sorted(CITIES, key=len, reverse=True)) + r"))+$"
)

LEGAL_SUFFIXES = frozenset(
    [
        "LTD",
        "LIMITED",
        "INC",
        "INCORPORATED",
        "LLC",
        "PLC",
        "CO",
        "CORP",
        "CORPORATION",
        "LLP",
        "GMBH",
        "PTY",
    ]
)
_NOISE_WORDS = frozenset(
    [
        "VISA",
        "MASTERCARD",
        "MC",
        "DEBIT",
        "CREDIT",
        "CARD",
        "PURCHASE",
        "POS",
        "CONTACTLESS",
        "ONLINE",
        "ECOM",
        "WEB",
        "STORE",
        "STORES",
        "STR",
        "STRS",
        "NO",
        "NUMBER",
        "TERMINAL",
        "PENDING",
        "BGC",
        "FPI",
        "FPO",
        "TFR",
        "SO",
        "CR",
        "DR",
    ]
)

_REF_RE = re.compile(
    r"\s*,?\s*\b(?:REF|REFERENCE|MANDATE(?: NO)?|AUTH(?: CODE)?|TRACE|ID)\b"
    r"[:.\s#]*[A-Z0-9/-]*\d[A-Z0-9/-]*"
)
_CARD_RE = re.compile(
    r"\b(?:CARD|CRD)\s*(?:NO\.?|ENDING(?: IN)?|X+)?\s*[X*]*\d{4}\b|\bX{4,}\d{4}\b"
    r"|\*{2,}\d{4}\b"
)
_PHONE_RE = re.compile(
    r"(?:\+?\d{1,3}[\s.-]?)?\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b|\b0\d{3,4}\s?\d{6,7}\b"
    r"|\b(?:800|888|877|866|855)\d{7}\b"
)
_DATE_RE = re.compile(
    r"\b\d{1,2}[-/.]\d{1,2}(?:[-/.]\d{2,4})?\b|\b\d{1,2}\s?(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|"
    r"SEP|OCT|NOV|DEC)[A-Z]*(?:\s?\d{2,4})?\b|\b\d{2}:\d{2}(?::\d{2})?\b"
)
_URL_RE = re.compile(
    r"\b(?:WWW\.)?([A-Z0-9-]+)\.(?:COM|CO\.UK|NET|ORG|IO|UK|CO|EU)(?:/([A-Z0-9]+))?[A-Z0-9/]*\b"
)
#: A store number: 1234, #1234, NO. 12, STORE 9, T-1234.
_STORE_NO = r"(?:#|\bNO\.?\s*|\bSTORE\s+|\bSTR\s+|\bT/?\s*)?\d[\d-]*"
_STORE_NO_RE = re.compile(rf"\s*{_STORE_NO}\b")
#: A US card descriptor's tail: the store number, then the city (one to three words, known or
#: not), then the state: ``MAPLE STREET BOOKS 0423 ASHEVILLE NC``. The store number is what
#: tells an unknown city from the merchant's own last word.
_US_STORE_CITY_STATE_RE = re.compile(
    rf"^(?P<name>.+?)\s+{_STORE_NO}"
    r"\s+[A-Z][A-Z.'-]*(?:\s+[A-Z][A-Z.'-]*){0,2}\s+(?P<state>[A-Z]{2})$"
)
_LEADING_NUMBER_RE = re.compile(r"^(\d{1,2})\s+(?=[A-Z]{2})")
_MIXED_ID_RE = re.compile(r"\b(?=[A-Z]*\d)(?=\d*[A-Z])[A-Z0-9]{6,}\b")
_NON_WORD_RE = re.compile(r"[^A-Z0-9&' ]+")
_SPACES_RE = re.compile(r"\s+")
_KEY_NON_ALNUM = re.compile(r"[^a-z0-9 ]+")


@dataclass(frozen=True, slots=True)
class Normalized:
    """A descriptor, normalised."""

    #: The merchant for people, e.g. ``Joes Coffee``; empty if nothing is left.
    merchant: str
    #: The merchant as a lookup key: lowercase, no punctuation or legal suffix.
    key: str
    #: The bank narrative that wrapped it (``card``, ``direct_debit``...) or empty.
    narrative: str
    #: The payment processor prefix (``SQ``, ``TST``...) or empty.
    processor: str
    #: The whole descriptor, cleaned of numbers and noise, lowercase: the model's input.
    text: str


def merchant_key(name: str) -> str:
    """The lookup key of a merchant name: ``"Joe's Coffee Ltd."`` -> ``"joes coffee"``."""
    s = name.lower().replace("'", "").replace("&", " and ")
    s = _KEY_NON_ALNUM.sub(" ", s)
    words = s.split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    # a legal suffix never starts a name: "CO-OP GROUP" keeps its "co"
    words = words[:1] + [w for w in words[1:] if w.upper() not in LEGAL_SUFFIXES]
    if len(words) == 1 and words[0].upper() in LEGAL_SUFFIXES:
        return ""
    return " ".join(words)


def _title(s: str) -> str:
    out = []
    for w in s.split():
        if "&" in w:  # initials stay capitals: M&S, B&Q, AT&T; Johnson&Johnson
            out.append("&".join(p if len(p) <= 2 else p.capitalize() for p in w.split("&")))
        elif len(w) <= 3 and w.isalpha() and w not in ("THE", "AND", "BAR", "PUB", "CAR", "SPA"):
            out.append(w if w in ("TFL", "BP", "UK", "KFC") else w.capitalize())
        else:
            out.append(w.capitalize() if "'" not in w else w[0] + w[1:].lower())
    return " ".join(out).replace("Tfl", "TfL")


def _strip_trailing_locations(s: str) -> str:
    for _ in range(3):
        words = s.split()
        if len(words) <= 1:
            return s
        last = words[-1]
        if last in COUNTRY_CODES or (last in US_STATES and len(words) > 2):
            s = " ".join(words[:-1])
            continue
        stripped = _CITY_SUFFIX_RE.sub("", s)
        if stripped and stripped != s:
            s = stripped
            continue
        break
    return s


def normalize(description: str) -> Normalized:
    """Normalise one descriptor (bank statement text or typed text)."""
    raw = _SPACES_RE.sub(" ", description.upper().strip())
    narrative = ""
    body = raw
    for kind, pattern in _NARRATIVES:
        m = pattern.match(body)
        if m and m.group("m").strip():
            narrative = kind
            body = m.group("m").strip()
            break
    processor = ""
    m = _PROCESSOR_RE.match(body)
    if m:
        processor = m.group("p").replace("PYPL", "PAYPAL").replace("IZETTLE", "ZETTLE")
        processor = {"IZ": "ZETTLE", "SMP": "SUMUP", "SQUARE": "SQ"}.get(processor, processor)
        body = body[m.end() :]
    body = _URL_RE.sub(lambda m: f"{m[1]} {m[2]}" if m[2] else m[1], body)
    body = _REF_RE.sub(" ", body)
    body = _CARD_RE.sub(" ", body)
    body = _PHONE_RE.sub(" ", body)
    body = _DATE_RE.sub(" ", body)
    body = _MIXED_ID_RE.sub(" ", body)
    body = _NON_WORD_RE.sub(" ", body.replace("*", " "))
    body = _SPACES_RE.sub(" ", body).strip()
    text_body = body
    located = _US_STORE_CITY_STATE_RE.match(body)
    if located and located["state"] in US_STATES:
        body = located["name"]
    merchant = _strip_trailing_locations(body)
    # A name may start with a small number ("7-ELEVEN", "24 HOUR FITNESS", "99 CENTS ONLY");
    # store, terminal and card numbers are longer ("POS DEBIT 1234 CORNER DELI").
    lead = _LEADING_NUMBER_RE.match(merchant)
    words: list[str] = [lead[1]] if lead else []
    for w in _STORE_NO_RE.sub(" ", merchant[lead.end() :] if lead else merchant).split():
        # a name said twice ("AMAZON.CO.UK*2K4L31 AMAZON.CO.UK") is said once
        if w not in _NOISE_WORDS and not w.isdigit() and (not words or words[-1] != w):
            words.append(w)
    while words and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    merchant = _strip_trailing_locations(" ".join(words))
    merchant = merchant.strip(" '&-")
    if len(merchant) < 2:
        merchant = ""
    text = _model_text(raw, text_body, narrative, processor)
    return Normalized(
        merchant=_title(merchant) if merchant else "",
        key=merchant_key(merchant) if merchant else "",
        narrative=narrative,
        processor=processor,
        text=text,
    )


_DIGITS_RE = re.compile(r"\d+")


def _model_text(raw: str, body: str, narrative: str, processor: str) -> str:
    """What the model reads: narrative and processor as tokens, the body without digits."""
    parts = []
    if narrative:
        parts.append(f"nar{narrative.replace('_', '')}")
    if processor:
        parts.append(f"proc{processor.lower()}")
    # Keep narrative words of the raw text too (e.g. "COUNCIL TAX" after "DIRECT DEBIT TO").
    parts.append(_DIGITS_RE.sub(" ", body.lower()))
    return _SPACES_RE.sub(" ", " ".join(parts)).strip()
