"""The training data: the open data sets in ``ml_svc/data/`` mapped to our 18 categories, plus
the descriptor generator (:mod:`ml_svc.generator`).

Sources and licences are in ``ml_svc/data/README.md`` (OpenEnrichment CC0, Merchant Studio
CC BY 4.0: "Enrichment from Merchant Studio by Jonathan Taveras"). The category mappings follow
the tables in ``ml_svc/data/SOURCES.md``; the records are relabelled to our taxonomy (modified
from the originals) and never leave the process.

Also builds the merchant dictionary entries (alias -> canonical name, category) from the same
rows, so that evaluation can hold out whole merchants from both the model and the dictionary.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ml_svc.generator import CREDIT, DEBIT, Example, generate

DATA_DIR = Path(__file__).parent / "data"

# Merchant Studio category -> ours; (category, subcategory) overrides first.
MS_CATEGORY = {
    "groceries": "groceries",
    "food_dining": "dining",
    "shopping": "shopping",
    "home": "housing",
    "auto_transport": "transport",
    "travel": "travel",
    "bills_utilities": "utilities",
    "subscriptions": "subscriptions",
    "software": "subscriptions",
    "health": "health",
    "personal_care": "personal_care",
    "insurance": "insurance",
    "financial": "transfers",
    "transfers": "transfers",
    "cash_atm": "transfers",
    "investments": "transfers",
    "housing": "housing",
    "education": "education",
    "entertainment": "entertainment",
    "office": "shopping",
    "pets": "other",
    "shipping": "other",
    "donations": "gifts_donations",
    "taxes": "other",
    "government_taxes": "other",
    "business": "other",
    "professional_services": "other",
    "family": "other",
    "income": "income",
    "fees_charges": "fees",
}
MS_SUBCATEGORY = {
    ("home", "furniture"): "shopping",
    ("home", "home_goods"): "shopping",
    ("home", "home_decor"): "shopping",
    ("home", "appliances"): "shopping",
    ("home", "moving_storage"): "other",
    ("auto_transport", "car_rental"): "travel",
    ("financial", "foreign_transaction_fee"): "fees",
    ("financial", "bank_service"): "fees",
    ("financial", "credit_reporting"): "fees",
    ("financial", "mortgage"): "housing",
    ("education", "college_savings"): "transfers",
    ("shopping", "payment_processor"): None,
    ("shopping", "ecommerce_processor"): None,
}

# OpenEnrichment category name -> ours (names are unique enough within the tree).
OE_CATEGORY = {
    "Incoming": None,
    "Atm Deposit": "transfers",
    "Benefits": "income",
    "Cash Advance": "transfers",
    "Cashback": "income",
    "Chargeback": None,
    "Freelance Income": "income",
    "Gambling Income": "income",
    "Grant Or Stipend": "income",
    "Insurance Payout": "income",
    "Interest Earned": "income",
    "Loan Disbursement": "transfers",
    "Pawn Loan": "transfers",
    "Paycheck": "income",
    "Rental Income": "income",
    "Refund": None,
    "Rideshare Or Delivery Income": "income",
    "Dividends": "income",
    "Tax Refund": "income",
    "Teller Deposit": "transfers",
    "Transfer From Crypto Broker": "transfers",
    "Transfer From Investment App": "transfers",
    "Transfer From Stock Broker": "transfers",
    "Outgoing": "other",
    "Travel": "travel",
    "Hotels & Lodging": "travel",
    "Airfare": "travel",
    "Shopping": "shopping",
    "Books, Newsletters, & Newspapers": "shopping",
    "Clothing & Accessories": "shopping",
    "Convenience Store": "groceries",
    "Department Or Discount Store": "shopping",
    "E-Commerce Purchase": "shopping",
    "Electronics": "shopping",
    "Firearms": "shopping",
    "Recreational Goods": "shopping",
    "Furniture, homeware, & appliances": "shopping",
    "Food & Drink": "dining",
    "Bars And Nightclubs": "dining",
    "Fast Food": "dining",
    "Alcohol, Tobacco & Vaping": "groceries",
    "Coffee Shop": "dining",
    "Food Delivery": "dining",
    "Cafés & Restaurants": "dining",
    "Health & Wellness": "health",
    "Drugstore Or Pharmacy": "health",
    "Medical Bill": "health",
    "Wellness": "personal_care",
    "Sport And Fitness": "health",
    "Hair & Beauty": "personal_care",
    "Lifestyle": "other",
    "Buy Now, Pay Later": "transfers",
    "Childcare": "other",
    "Gifts & Charity": "gifts_donations",
    "Education": "education",
    "Insurance": "insurance",
    "Laundry": "personal_care",
    "Legal Services": "other",
    "Apps & Subscriptions": "subscriptions",
    "Entertainment": "entertainment",
    "Digital Content & Streaming": "subscriptions",
    "Gambling": "entertainment",
    "Government & Tax": "other",
    "Inter Account Transfer": "transfers",
    "Intra Account Transfer": "transfers",
    "Other": "other",
    "Remittance": "transfers",
    "Retirement Contribution": "transfers",
    "Student Loan Repayment": "transfers",
    "Tax Payments": "other",
    "Tax Prep": "other",
    "Teller Withdrawal": "transfers",
    "Investments": "transfers",
    "Crypto": "transfers",
    "Stocks": "transfers",
    "Transportation": "transport",
    "Auto Lease Payment": "transport",
    "Auto Loan Repayment": "transfers",
    "EV Charging": "transport",
    "Fuel": "transport",
    "Parking": "transport",
    "Other Transport": "transport",
    "Public Transport": "transport",
    "Taxis & Rideshare": "transport",
    "Tolls": "transport",
    "Towing Charge": "transport",
    "Vehicle Maintenance": "transport",
    "Vending Machine": "dining",
    "Home": "housing",
    "Contribution To Reserve Fund": "housing",
    "Home Maintenance": "housing",
    "Mortgage Repayment": "housing",
    "Pets": "other",
    "Rent": "housing",
    "Rent-To-Own": "housing",
    "Utilities": "utilities",
    "Groceries": "groceries",
    "Rates & Insurance": "housing",
    "Banking": "transfers",
    "Adjustment": "other",
    "ATM Withdrawal": "transfers",
    "Bank Fee": "fees",
    "Cash Advance Repayment": "transfers",
    "Credit Card Bill": "transfers",
    "Credit Report": "fees",
    "Debt Collection": "transfers",
    "Interest Payment": "fees",
    "Loan Repayment": "transfers",
    "Overdraft Fee": "fees",
    "Pawn Redeem": "transfers",
    "Peer To Peer Transfer": "transfers",
    "Prenote": "other",
}
_STREAMING = ("netflix", "disney", "hulu", "paramount", "crunchyroll", "youtube")
_DIGITAL_NEWS = (
    "financial times",
    "wall street journal",
    "wsj",
    "fortune",
    "substack",
    "audible",
    "pragmatic engineer",
)
_COWORKING = ("hub", "jaga", "wotso", "the commons", "work club")


@dataclass(frozen=True, slots=True)
class DictionaryEntry:
    """One alias of a known merchant."""

    alias: str
    merchant: str
    category: str
    group: str


def _ms_label(category: str, subcategory: str | None) -> str | None:
    key = (category, subcategory or "")
    if key in MS_SUBCATEGORY:
        return MS_SUBCATEGORY[key]
    return MS_CATEGORY.get(category)


def load_merchant_studio() -> tuple[list[Example], list[DictionaryEntry]]:
    path = DATA_DIR / "merchant-studio" / "merchant_aliases.json"
    merchants = json.loads(path.read_text(encoding="utf-8"))["merchants"]
    examples: list[Example] = []
    entries: list[DictionaryEntry] = []
    for m in merchants:
        label = _ms_label(m["category"], m.get("subcategory"))
        if label is None:
            continue
        group = f"ms:{m['id']}"
        name = m["canonicalName"]
        aliases = list(dict.fromkeys([name, *m.get("aliases", [])]))
        for alias in aliases:
            examples.append(Example(alias.upper(), label, DEBIT, group, "data"))
            entries.append(DictionaryEntry(alias, name, label, group))
    return examples, entries


def _oe_label(name: str, category: str | None, mcc: str) -> str | None:
    lower = name.lower()
    if any(s in lower for s in _STREAMING) and category in ("entertainment", "shopping"):
        return "subscriptions"
    if any(s in lower for s in _DIGITAL_NEWS):
        return "subscriptions"
    if "hertz" in lower:
        return "travel"
    if category == "housing" and any(lower.startswith(s) for s in _COWORKING):
        return "other"
    if lower.startswith("apple") and mcc == "5732":
        return "shopping"
    return category


def load_openenrichment() -> tuple[list[Example], list[DictionaryEntry]]:
    root = DATA_DIR / "openenrichment"
    names: dict[str, tuple[str, str]] = {}
    with (root / "categories.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            names[row["id"]] = (row["name"], row["parent_id"])
    rows: dict[str, dict[str, str]] = {}
    for path in sorted(root.glob("*/merchants.csv")):
        with path.open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                rows[row["id"]] = row
    examples: list[Example] = []
    entries: list[DictionaryEntry] = []
    for row in rows.values():
        cat_id = row["category_id"] or rows.get(row["parent_id"], {}).get("category_id", "")
        cat_name = names.get(cat_id, ("Other", ""))[0] if cat_id else "Other"
        if cat_id and cat_id not in names:
            cat_name = "Other"  # the coworking gap documented in SOURCES.md
        label = _oe_label(row["name"], OE_CATEGORY.get(cat_name), row["mcc"])
        if label is None:
            continue
        parent = row["parent_id"] if row["parent_id"] in rows else row["id"]
        parent_name = rows[parent]["name"] if parent in rows else row["name"]
        group = f"oe:{parent}"
        texts = [
            t.strip().rstrip("\\").strip() for t in row["transaction_text_examples"].split("`")
        ]
        texts = [t for t in texts if t and t not in ("[", "]", ", ") and len(t) > 1]
        for text in texts:
            examples.append(Example(text.upper(), label, DEBIT, group, "data"))
        examples.append(Example(row["name"].upper(), label, DEBIT, group, "data"))
        entries.append(DictionaryEntry(row["name"], parent_name, label, group))
        for text in texts:
            entries.append(DictionaryEntry(text, parent_name, label, group))
    return examples, entries


def generated_dictionary() -> list[DictionaryEntry]:
    """The generator's brands as dictionary entries."""
    from ml_svc.generator import BRANDS, canonical

    out = []
    for label, brands in BRANDS.items():
        for brand in brands:
            out.append(DictionaryEntry(brand, canonical(brand), label, f"gen:{brand}"))
    return out


@dataclass(frozen=True)
class Corpus:
    examples: list[Example]
    dictionary: list[DictionaryEntry]


def load_corpus(seed: int = 7, extra: Iterable[Example] = ()) -> Corpus:
    """Everything we train on: open data, generated descriptors and ``extra`` (corrections)."""
    ms_ex, ms_dict = load_merchant_studio()
    oe_ex, oe_dict = load_openenrichment()
    examples = [*ms_ex, *oe_ex, *generate(seed), *extra]
    # Open-data brands also appear wrapped in statement shapes (a fraction of them).
    rng = random.Random(seed + 1)
    from ml_svc.generator import _refund, _wrap

    wrapped = []
    for e in [*ms_ex, *oe_ex]:
        if rng.random() < 0.5:
            line = _wrap(rng, e.text, e.label, processor_ok=e.label == "dining")
            direction = DEBIT
            if rng.random() < 0.05 and e.label not in ("gifts_donations", "fees", "income"):
                line, direction = _refund(rng, line), CREDIT
            wrapped.append(Example(line, e.label, direction, e.group, "data"))
    examples.extend(wrapped)
    return Corpus(examples=examples, dictionary=[*ms_dict, *oe_dict, *generated_dictionary()])


def group_split(
    examples: Sequence[Example], test_fraction: float = 0.2, seed: int = 11
) -> tuple[list[Example], list[Example]]:
    """Split by merchant group: no merchant is on both sides. Every category keeps at least
    one merchant on the training side (a model that never saw a category cannot be scored or
    calibrated on it); only a small corpus needs that, the full one never does."""
    groups = sorted({e.group for e in examples})
    rng = random.Random(seed)
    rng.shuffle(groups)
    first_held = groups[: int(len(groups) * test_fraction)]
    held = set(first_held)
    labels_of: dict[str, set[str]] = {}
    for e in examples:
        labels_of.setdefault(e.group, set()).add(e.label)
    kept = {label for g in groups if g not in held for label in labels_of[g]}
    for g in first_held:
        if labels_of[g] - kept:
            held.discard(g)
            kept |= labels_of[g]
    train = [e for e in examples if e.group not in held]
    test = [e for e in examples if e.group in held]
    return train, test
