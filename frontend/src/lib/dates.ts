// Months (`YYYY-MM`) and google.type.Date helpers. Dates are calendar days, so they are
// formatted in UTC to avoid a time zone moving them by a day.
import type { DateJson } from "@gen/google/type/date_pb";

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** The current month in the browser's time zone, `YYYY-MM`. */
export function currentMonth(now = new Date()): string {
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}`;
}

/** Today in the browser's time zone as a google.type.Date. */
export function today(now = new Date()): DateJson {
  return { year: now.getFullYear(), month: now.getMonth() + 1, day: now.getDate() };
}

/** `month` moved by `delta` months. */
export function shiftMonth(month: string, delta: number): string {
  const [y, m] = month.split("-").map(Number) as [number, number];
  const idx = y * 12 + (m - 1) + delta;
  return `${Math.floor(idx / 12)}-${pad((idx % 12) + 1)}`;
}

export function isMonth(s: string): boolean {
  return /^\d{4}-(0[1-9]|1[0-2])$/.test(s);
}

/** "May 2025" in the browser's locale. */
export function monthLabel(month: string, locale?: string): string {
  const [y, m] = month.split("-").map(Number) as [number, number];
  return new Intl.DateTimeFormat(locale, { month: "long", year: "numeric", timeZone: "UTC" }).format(
    new Date(Date.UTC(y, m - 1, 1)),
  );
}

/** `YYYY-MM-DD`, or "" when unset. */
export function dateToIso(d: DateJson | undefined): string {
  if (!d?.year) return "";
  return `${pad(d.year, 4)}-${pad(d.month ?? 1)}-${pad(d.day ?? 1)}`;
}

export function isoToDate(s: string): DateJson | undefined {
  const m = s.match(/^(\d{4})-(\d{2})-(\d{2})$/);
  if (!m) return undefined;
  return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
}

/** "3 May 2025" / "May 3, 2025" in the browser's locale. */
export function formatDate(d: DateJson | undefined, locale?: string, short = false): string {
  if (!d?.year) return "—";
  return new Intl.DateTimeFormat(locale, {
    day: "numeric",
    month: "short",
    ...(short ? {} : { year: "numeric" }),
    timeZone: "UTC",
  }).format(new Date(Date.UTC(d.year, (d.month ?? 1) - 1, d.day ?? 1)));
}

/** A relative time for an RFC 3339 timestamp ("5 minutes ago"). */
export function formatRelative(rfc3339: string | undefined, locale?: string, now = Date.now()): string {
  if (!rfc3339) return "";
  const t = Date.parse(rfc3339);
  if (Number.isNaN(t)) return "";
  const secs = Math.round((t - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  const abs = Math.abs(secs);
  if (abs < 60) return rtf.format(secs, "second");
  if (abs < 3600) return rtf.format(Math.round(secs / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(secs / 3600), "hour");
  return rtf.format(Math.round(secs / 86400), "day");
}

/** The API's locale form of a BCP 47 tag ("en-GB" → "en_GB"). */
export function apiLocale(tag: string): string {
  return tag.replace("-", "_");
}
