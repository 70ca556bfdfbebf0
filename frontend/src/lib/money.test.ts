import { describe, expect, it } from "vitest";
import { formatMoney, fromNanos, parseAmount, percentOf, sumByCurrency, toDecimalString, toNanos } from "./money";

describe("money", () => {
  it("keeps units and nanos exact", () => {
    expect(toDecimalString({ currencyCode: "GBP", units: "12", nanos: 990000000 })).toBe("12.99");
    expect(toDecimalString({ currencyCode: "GBP", units: "0", nanos: 5 })).toBe("0.000000005");
    expect(toDecimalString({ currencyCode: "GBP", units: "-3", nanos: -500000000 })).toBe("-3.5");
    expect(toDecimalString({ currencyCode: "GBP", units: "9007199254740993" })).toBe("9007199254740993");
  });

  it("sums without floating point error, per currency", () => {
    const tenPence = { currencyCode: "GBP", units: "0", nanos: 100000000 };
    const twentyPence = { currencyCode: "GBP", units: "0", nanos: 200000000 };
    const sums = sumByCurrency([tenPence, twentyPence, { currencyCode: "EUR", units: "1" }, tenPence]);
    expect(sums).toEqual([
      { currencyCode: "GBP", units: "0", nanos: 400000000 },
      { currencyCode: "EUR", units: "1", nanos: 0 },
    ]);
    // 0.1 + 0.2 as floats is 0.30000000000000004; as nanos it is exactly 0.3.
    expect(toDecimalString(sumByCurrency([tenPence, twentyPence])[0])).toBe("0.3");
  });

  it("round-trips nanos", () => {
    expect(toNanos(fromNanos("USD", 123456789012n))).toBe(123456789012n);
    expect(fromNanos("USD", -1500000000n)).toEqual({ currencyCode: "USD", units: "-1", nanos: -500000000 });
  });

  it("formats in the amount's own currency and the given locale", () => {
    expect(formatMoney({ currencyCode: "GBP", units: "3", nanos: 500000000 }, { locale: "en-GB" })).toBe("£3.50");
    expect(formatMoney({ currencyCode: "EUR", units: "1234", nanos: 500000000 }, { locale: "de-DE" })).toBe("1.234,50\u00a0€");
    expect(formatMoney({ currencyCode: "JPY", units: "1500" }, { locale: "en-US" })).toBe("¥1,500");
    expect(formatMoney(undefined)).toBe("—");
  });

  it("parses what people type into exact Money", () => {
    expect(parseAmount("12.50", "GBP")).toEqual({ currencyCode: "GBP", units: "12", nanos: 500000000 });
    expect(parseAmount("1,234.5", "USD")).toEqual({ currencyCode: "USD", units: "1234", nanos: 500000000 });
    expect(parseAmount("1.234,50", "EUR")).toEqual({ currencyCode: "EUR", units: "1234", nanos: 500000000 });
    expect(parseAmount("12,5", "EUR")).toEqual({ currencyCode: "EUR", units: "12", nanos: 500000000 });
    expect(parseAmount("£0.10", "GBP")).toEqual({ currencyCode: "GBP", units: "0", nanos: 100000000 });
  });

  it("rejects non-amounts with a plain message", () => {
    expect(parseAmount("", "GBP")).toHaveProperty("error", "Enter an amount.");
    expect(parseAmount("abc", "GBP")).toHaveProperty("error");
    expect(parseAmount("0", "GBP")).toHaveProperty("error", "The amount must be more than zero.");
    expect(parseAmount("1.234", "GBP")).toHaveProperty("error", "GBP amounts have at most 2 decimal places.");
    expect(parseAmount("10.5", "JPY")).toHaveProperty("error", "JPY has no minor units: enter a whole number.");
  });

  it("computes percentages from exact amounts", () => {
    expect(percentOf({ units: "160", currencyCode: "GBP" }, { units: "200", currencyCode: "GBP" })).toBe(80);
    expect(percentOf({ units: "1", currencyCode: "GBP" }, { units: "0", currencyCode: "GBP" })).toBe(0);
  });
});
