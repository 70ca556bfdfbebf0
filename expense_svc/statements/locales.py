"""What a locale such as `en_GB` or `de-DE` says about reading dates and amounts."""

from __future__ import annotations

from expense_svc.statements.dates import DateOrder

DEFAULT_LOCALE = "en_GB"

# Regions whose banks print month first (MM/DD/YYYY).
_MDY_REGIONS = frozenset({"US", "PH", "PR", "GU", "AS", "UM", "VI", "MH", "FM", "PW"})
# Languages that write 1.234,56 (or 1 234,56).
_DECIMAL_COMMA_LANGUAGES = frozenset(
    {
        "de", "fr", "es", "it", "nl", "pt", "da", "sv", "nb", "nn", "no", "fi", "pl", "cs",
        "sk", "sl", "hr", "hu", "ro", "bg", "ru", "uk", "tr", "el", "lt", "lv", "et", "id",
        "vi", "ca", "eu", "gl", "is",
    }
)  # fmt: skip


def _split(locale: str | None) -> tuple[str, str]:
    parts = (locale or DEFAULT_LOCALE).replace("-", "_").split(".")[0].split("_")
    language = parts[0].lower()
    region = parts[-1].upper() if len(parts) > 1 else ""
    return language, region


def date_order(locale: str | None) -> DateOrder:
    """en_US → MDY; everything else (and no locale: en_GB) → DMY."""
    _, region = _split(locale)
    return "MDY" if region in _MDY_REGIONS else "DMY"


def decimal_comma(locale: str | None) -> bool:
    """de_DE, fr_FR, ... → True; en_* (and no locale) → False."""
    language, _ = _split(locale)
    return language in _DECIMAL_COMMA_LANGUAGES
