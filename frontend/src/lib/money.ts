// Exact money handling for google.type.Money in its proto3 JSON form
// ({"currencyCode":"GBP","units":"12","nanos":990000000}). Amounts are kept as BigInt
// nanos (units × 10⁹ + nanos) so sums never touch floating point, and formatted by
// handing Intl.NumberFormat an exact decimal string.
import type { MoneyJson } from "@gen/google/type/money_pb";

const NANOS_PER_UNIT = 1_000_000_000n;

/** The amount in nanos (10⁻⁹ of a unit) as an exact BigInt. */
export function toNanos(m: MoneyJson | undefined): bigint {
  if (!m) return 0n;
  const units = BigInt(m.units ?? "0");
  const nanos = BigInt(m.nanos ?? 0);
  return units * NANOS_PER_UNIT + nanos;
}

/** A Money from a currency and an exact nanos amount (units and nanos share a sign). */
export function fromNanos(currencyCode: string, total: bigint): MoneyJson {
  const units = total / NANOS_PER_UNIT; // truncates toward zero, like the proto wants
  const nanos = total - units * NANOS_PER_UNIT;
  return { currencyCode, units: units.toString(), nanos: Number(nanos) };
}

/** The exact decimal string, e.g. "12.99", "-0.5", "3". */
export function toDecimalString(m: MoneyJson | undefined): string {
  const total = toNanos(m);
  const negative = total < 0n;
  const abs = negative ? -total : total;
  const units = abs / NANOS_PER_UNIT;
  const frac = (abs % NANOS_PER_UNIT).toString().padStart(9, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${units}${frac ? `.${frac}` : ""}`;
}

const formatters = new Map<string, Intl.NumberFormat>();

function formatter(currency: string, locale: string | undefined, compact: boolean): Intl.NumberFormat {
  const key = `${locale ?? ""}|${currency}|${compact}`;
  let f = formatters.get(key);
  if (!f) {
    try {
      f = new Intl.NumberFormat(locale, {
        style: "currency",
        currency,
        ...(compact ? { notation: "compact", maximumFractionDigits: 1 } : {}),
      });
    } catch {
      // Not an ISO 4217 code the browser knows: plain number with the code after it.
      f = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 9 });
    }
    formatters.set(key, f);
  }
  return f;
}

/**
 * The amount in its own currency, in the browser's locale ("£3.50", "3,50 €").
 * Exact: Intl receives the decimal string, never a float of the sum.
 */
export function formatMoney(
  m: MoneyJson | undefined,
  opts: { locale?: string; compact?: boolean; sign?: "-" | "+" | "" } = {},
): string {
  if (!m || !m.currencyCode) return "—";
  const f = formatter(m.currencyCode, opts.locale, opts.compact ?? false);
  const text = f.format(toDecimalString(m) as Intl.StringNumericLiteral);
  const usesCode = f.resolvedOptions().style !== "currency";
  const out = usesCode ? `${text} ${m.currencyCode}` : text;
  return opts.sign ? `${opts.sign}${out}` : out;
}

/** Sums amounts per currency, exactly. The result is in first-seen currency order. */
export function sumByCurrency(amounts: Iterable<MoneyJson | undefined>): MoneyJson[] {
  const totals = new Map<string, bigint>();
  for (const m of amounts) {
    if (!m?.currencyCode) continue;
    totals.set(m.currencyCode, (totals.get(m.currencyCode) ?? 0n) + toNanos(m));
  }
  return [...totals].map(([c, n]) => fromNanos(c, n));
}

/** Fraction digits a currency uses (2 for GBP, 0 for JPY). */
export function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/**
 * Parses what a person typed as an amount ("12.50", "1,234.5", "1.234,50", "12,5") into
 * Money, exactly. Returns an error message in plain words instead when it is not an amount.
 */
export function parseAmount(input: string, currencyCode: string): MoneyJson | { error: string } {
  const s = input.replace(/[\s\u00a0\u202f']/g, "").replace(/^[£$€¥]/, "");
  if (!s) return { error: "Enter an amount." };
  let intPart: string;
  let fracPart = "";
  let m: RegExpMatchArray | null;
  if ((m = s.match(/^(\d{1,3}(?:,\d{3})+)(?:\.(\d+))?$/))) {
    intPart = m[1]!.replace(/,/g, "");
    fracPart = m[2] ?? "";
  } else if ((m = s.match(/^(\d{1,3}(?:\.\d{3})+),(\d+)$/))) {
    intPart = m[1]!.replace(/\./g, "");
    fracPart = m[2] ?? "";
  } else if ((m = s.match(/^(\d+)(?:[.,](\d+))?$/))) {
    intPart = m[1]!;
    fracPart = m[2] ?? "";
  } else if ((m = s.match(/^[.,](\d+)$/))) {
    intPart = "0";
    fracPart = m[1]!;
  } else {
    return { error: "Enter an amount like 12.50, using digits only." };
  }
  const digits = currencyDigits(currencyCode);
  if (fracPart.length > Math.max(digits, 0) && /[^0]/.test(fracPart.slice(digits))) {
    return {
      error:
        digits === 0
          ? `${currencyCode} has no minor units: enter a whole number.`
          : `${currencyCode} amounts have at most ${digits} decimal places.`,
    };
  }
  const nanos = BigInt((fracPart + "000000000").slice(0, 9));
  const total = BigInt(intPart) * NANOS_PER_UNIT + nanos;
  if (total <= 0n) return { error: "The amount must be more than zero." };
  if (BigInt(intPart) > 999_999_999_999n) return { error: "That amount is too large." };
  return fromNanos(currencyCode, total);
}

/** Whether parseAmount failed. */
export function isAmountError(v: MoneyJson | { error: string }): v is { error: string } {
  return "error" in v;
}

/** spent ÷ limit in percent, from exact amounts (for display only). */
export function percentOf(part: MoneyJson | undefined, whole: MoneyJson | undefined): number {
  const w = toNanos(whole);
  if (w <= 0n) return 0;
  // Basis points with BigInt, then one small float division for display.
  return Number((toNanos(part) * 10_000n) / w) / 100;
}

/** The currency a locale usually uses ("en-GB" → "GBP"); USD when the region is unknown. */
export function defaultCurrency(locale: string): string {
  const region = (locale.split(/[-_]/)[1] ?? "").toUpperCase();
  const byRegion: Record<string, string> = {
    GB: "GBP", US: "USD", IE: "EUR", DE: "EUR", FR: "EUR", ES: "EUR", IT: "EUR", NL: "EUR",
    BE: "EUR", AT: "EUR", PT: "EUR", FI: "EUR", CA: "CAD", AU: "AUD", NZ: "NZD", JP: "JPY",
    CH: "CHF", SE: "SEK", NO: "NOK", DK: "DKK", PL: "PLN", IN: "INR", SG: "SGD", ZA: "ZAR",
  };
  return byRegion[region] ?? (locale.toLowerCase().startsWith("en") ? "GBP" : "EUR");
}

/** A proto3 JSON float/double ("NaN", "Infinity" arrive as strings) as a finite number. */
export function num(x: number | string | undefined): number {
  const n = typeof x === "string" ? Number(x) : (x ?? 0);
  return Number.isFinite(n) ? n : 0;
}
