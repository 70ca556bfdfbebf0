// Small dependency-free SVG/CSS charts. Money stays exact everywhere else; here amounts
// become numbers only to compute pixel positions.
import type { MoneyJson } from "@gen/google/type/money_pb";
import type { DateJson } from "@gen/google/type/date_pb";
import { formatMoney, toNanos } from "../lib/money";
import { formatDate } from "../lib/dates";

const asNumber = (m: MoneyJson | undefined) => Number(toNanos(m)) / 1e9;

export interface BarDatum {
  key: string;
  label: string;
  value: MoneyJson | undefined;
  /** A marker (e.g. the budget limit). */
  marker?: MoneyJson;
  /** A range drawn behind the bar (e.g. a forecast's low–high). */
  range?: [MoneyJson | undefined, MoneyJson | undefined];
  note?: string;
  level?: "ok" | "warn" | "over";
}

export function BarChart({ data, locale, label }: { data: BarDatum[]; locale: string; label: string }) {
  const max = Math.max(1e-9, ...data.flatMap((d) => [asNumber(d.value), asNumber(d.marker), asNumber(d.range?.[1])]));
  const pct = (m: MoneyJson | undefined) => `${Math.min(100, (asNumber(m) / max) * 100)}%`;
  return (
    <ul className="bars" aria-label={label}>
      {data.map((d) => (
        <li key={d.key} className="bar-row">
          <span className="bar-label">{d.label}</span>
          <span className="bar-track" aria-hidden="true">
            {d.range && (
              <span className="bar-range" style={{ left: pct(d.range[0]), width: `calc(${pct(d.range[1])} - ${pct(d.range[0])})` }} />
            )}
            <span className={`bar-fill bar-${d.level ?? "ok"}`} style={{ width: pct(d.value) }} />
            {d.marker && <span className="bar-marker" style={{ left: pct(d.marker) }} title={`Budget ${formatMoney(d.marker, { locale })}`} />}
          </span>
          <span className="bar-value">
            {formatMoney(d.value, { locale })}
            {d.note && <span className="muted small"> {d.note}</span>}
          </span>
        </li>
      ))}
    </ul>
  );
}

export function LineChart({
  points,
  locale,
  label,
}: {
  points: { date: DateJson | undefined; value: MoneyJson | undefined }[];
  locale: string;
  label: string;
}) {
  const W = 600;
  const H = 160;
  const P = 6;
  if (points.length === 0) return null;
  const values = points.map((p) => asNumber(p.value));
  const max = Math.max(1e-9, ...values);
  const x = (i: number) => P + (points.length === 1 ? 0 : (i / (points.length - 1)) * (W - 2 * P));
  const y = (v: number) => H - P - (v / max) * (H - 2 * P);
  const path = values.map((v, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  const area = `${path} L${x(values.length - 1).toFixed(1)},${H - P} L${x(0).toFixed(1)},${H - P} Z`;
  const peak = values.indexOf(Math.max(...values));
  const first = points[0]!;
  const last = points[points.length - 1]!;
  return (
    <figure className="line-chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} preserveAspectRatio="none">
        <path d={area} className="line-area" />
        <path d={path} className="line" vectorEffect="non-scaling-stroke" />
        {values.map((v, i) => (
          <circle key={i} cx={x(i)} cy={y(v)} r={2.5} className="line-dot">
            <title>{`${formatDate(points[i]!.date, locale)}: ${formatMoney(points[i]!.value, { locale })}`}</title>
          </circle>
        ))}
      </svg>
      <figcaption className="muted small">
        {formatDate(first.date, locale, true)} – {formatDate(last.date, locale, true)} · highest{" "}
        {formatMoney(points[peak]?.value, { locale })} on {formatDate(points[peak]?.date, locale, true)}
      </figcaption>
    </figure>
  );
}
