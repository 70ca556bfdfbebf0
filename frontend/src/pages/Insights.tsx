// Insights for a month: spending by category against budgets, month-over-month, top
// merchants, daily spend, forecast with its range, recurring payments, and alerts (live).
import { useEffect, useRef, useState } from "react";
import type { InsightJson } from "@gen/finance/insight/v1/insight_service_pb";
import { formatDate, formatRelative, monthLabel } from "../lib/dates";
import { formatMoney, num, toNanos } from "../lib/money";
import { categoryName, useLiveEvents, useOnReconnect, useSession } from "../lib/session";
import { useAsync } from "../lib/useAsync";
import { BarChart, LineChart } from "../components/charts";
import { Empty, ErrorNote, Section, Spinner, progressLevel } from "../components/ui";

const CADENCE: Record<string, string> = {
  CADENCE_WEEKLY: "Weekly",
  CADENCE_FORTNIGHTLY: "Fortnightly",
  CADENCE_FOUR_WEEKLY: "Every 4 weeks",
  CADENCE_MONTHLY: "Monthly",
  CADENCE_QUARTERLY: "Quarterly",
  CADENCE_YEARLY: "Yearly",
};
const STATUS: Record<string, string> = {
  RECURRING_STATUS_EARLY: "New",
  RECURRING_STATUS_ESTABLISHED: "Regular",
  RECURRING_STATUS_STOPPED: "Stopped",
};

function Loading({ what }: { what: string }) {
  return (
    <div className="muted pad">
      <Spinner /> Loading {what}…
    </div>
  );
}

function changeText(p: number | undefined): string {
  if (!p) return "";
  return `${p > 0 ? "▲" : "▼"} ${Math.abs(p).toFixed(0)}%`;
}

export function InsightsPage() {
  const { api, month, locale, categories } = useSession();
  const summary = useAsync((s) => api.summary(month, s), [api, month]);
  const forecast = useAsync((s) => api.forecast(month, s), [api, month]);
  const recurring = useAsync((s) => api.listRecurring(s), [api]);
  const alerts = useAsync((s) => api.listInsights(month, s), [api, month]);
  const [live, setLive] = useState<InsightJson[]>([]);

  useLiveEvents((ev) => {
    if (ev.insight?.id && (!ev.insight.month || ev.insight.month === month)) {
      setLive((l) => [ev.insight!, ...l.filter((x) => x.id !== ev.insight!.id)].slice(0, 50));
    }
  });
  useOnReconnect(() => {
    alerts.reload();
    summary.reload();
  });

  // New and enriched expenses change the figures: refetch (debounced) when they arrive, and
  // every 30 s while the page is visible, since insight_svc catches up asynchronously.
  const refresh = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const refreshFigures = () => {
    clearTimeout(refresh.current);
    refresh.current = setTimeout(() => {
      summary.reload();
      forecast.reload();
    }, 1000);
  };
  useLiveEvents((ev) => {
    if (ev.expense || ev.insight) refreshFigures();
  });
  useEffect(() => {
    const t = setInterval(() => {
      if (document.visibilityState === "visible") {
        summary.reload();
        forecast.reload();
        recurring.reload();
      }
    }, 30_000);
    return () => {
      clearInterval(t);
      clearTimeout(refresh.current);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, month]);

  const currencies = [...new Set((summary.data?.totals ?? []).map((t) => t.currencyCode ?? ""))].filter(Boolean);
  const [chosen, setChosen] = useState("");
  const currency = currencies.includes(chosen) ? chosen : currencies[0] ?? "";
  const inCurrency = <T extends { spent?: { currencyCode?: string } }>(xs: T[] | undefined) =>
    (xs ?? []).filter((x) => !currency || x.spent?.currencyCode === currency);

  const allAlerts = [...live, ...(alerts.data?.insights ?? []).filter((a) => !live.some((l) => l.id === a.id))];
  const cats = inCurrency(summary.data?.categories);

  return (
    <div className="page insights">
      <h1 className="page-title">Insights for {monthLabel(month, locale)}</h1>
      {currencies.length > 1 && (
        <label className="currency-pick">
          Currency{" "}
          <select value={currency} onChange={(e) => setChosen(e.target.value)}>
            {currencies.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
      )}
      <div className="grid">
        <Section title="This month" id="totals">
          {summary.error !== undefined && <ErrorNote error={summary.error} what="summarise your spending" onRetry={summary.reload} />}
          {summary.loading && !summary.data && <Loading what="summary" />}
          {summary.data && (summary.data.totals ?? []).length === 0 && <Empty>Nothing spent this month yet.</Empty>}
          <div className="stats">
            {(summary.data?.totals ?? [])
              .filter((t) => !currency || t.currencyCode === currency)
              .map((t) => {
                const now = toNanos(t.spent);
                const before = toNanos(t.previousMonthSpent);
                const change = before > 0n ? Number(((now - before) * 1000n) / before) / 10 : 0;
                return (
                  <div key={t.currencyCode} className="stat-group">
                    <div className="stat">
                      <span className="stat-label">Spent</span>
                      <span className="stat-value" data-testid="total-spent">{formatMoney(t.spent, { locale })}</span>
                      <span className={`muted small ${change > 0 ? "up" : "down"}`}>
                        {before > 0n ? `${changeText(change)} vs ${formatMoney(t.previousMonthSpent, { locale })} last month` : "nothing last month"}
                      </span>
                    </div>
                    <div className="stat">
                      <span className="stat-label">Received</span>
                      <span className="stat-value">{formatMoney(t.received, { locale })}</span>
                      <span className="muted small">{t.expenseCount ?? 0} transactions</span>
                    </div>
                  </div>
                );
              })}
            {(forecast.data?.totals ?? [])
              .filter((t) => (!currency || t.currencyCode === currency) && t.safeToSpendToday)
              .map((t) => (
                <div key={`safe-${t.currencyCode}`} className="stat">
                  <span className="stat-label">Safe to spend today</span>
                  <span className="stat-value">{formatMoney(t.safeToSpendToday, { locale })}</span>
                  <span className="muted small">{forecast.data?.daysRemaining ?? 0} days left in the month</span>
                </div>
              ))}
          </div>
        </Section>

        <Section title="Alerts" id="alerts">
          {alerts.error !== undefined && <ErrorNote error={alerts.error} what="list alerts" onRetry={alerts.reload} />}
          {alerts.loading && !alerts.data && <Loading what="alerts" />}
          {alerts.data && allAlerts.length === 0 && <Empty>No alerts this month. We'll tell you here the moment something needs a look.</Empty>}
          <ul className="alerts" aria-live="polite" data-testid="alerts">
            {allAlerts.map((a) => (
              <li key={a.id} className={`alert alert-${(a.severity ?? "").replace("SEVERITY_", "").toLowerCase()}`}>
                <strong>{a.title}</strong>
                <span>{a.message}</span>
                <span className="muted small">{formatRelative(a.createTime, locale)}</span>
              </li>
            ))}
          </ul>
        </Section>

        <Section title="Spending by category" id="categories">
          {summary.loading && !summary.data && <Loading what="categories" />}
          {summary.data && cats.length === 0 && <Empty>No spending to chart yet.</Empty>}
          {cats.length > 0 && (
            <BarChart
              label="Spending by category against budget"
              locale={locale}
              data={cats.map((c) => ({
                key: `${c.category}-${c.spent?.currencyCode}`,
                label: categoryName(categories, c.category),
                value: c.spent,
                marker: c.budgetLimit,
                level: c.budgetLimit ? progressLevel(num(c.budgetPercentUsed)) : "ok",
                note: [c.budgetLimit ? `of ${formatMoney(c.budgetLimit, { locale })}` : "", changeText(num(c.changePercent))].filter(Boolean).join(" · "),
              }))}
            />
          )}
        </Section>

        <Section title="Top merchants" id="merchants">
          {summary.data && inCurrency(summary.data.topMerchants).length === 0 && <Empty>No merchants yet this month.</Empty>}
          <ol className="merchants">
            {inCurrency(summary.data?.topMerchants).map((m) => (
              <li key={`${m.merchant}-${m.spent?.currencyCode}`}>
                <span>
                  {m.merchant}
                  <span className="muted small"> · {categoryName(categories, m.category)} · {m.expenseCount}×</span>
                </span>
                <span className="num">{formatMoney(m.spent, { locale })}</span>
              </li>
            ))}
          </ol>
        </Section>

        <Section title="Daily spending" id="daily">
          {summary.data && inCurrency(summary.data.daily).length === 0 && <Empty>No days to show yet.</Empty>}
          <LineChart
            label="Spending per day"
            locale={locale}
            points={inCurrency(summary.data?.daily).map((d) => ({ date: d.date, value: d.spent }))}
          />
        </Section>

        <Section title="Month-end forecast" id="forecast">
          {forecast.error !== undefined && <ErrorNote error={forecast.error} what="forecast the month" onRetry={forecast.reload} />}
          {forecast.loading && !forecast.data && <Loading what="forecast" />}
          {forecast.data && (forecast.data.categories ?? []).length === 0 && <Empty>Not enough spending yet to forecast this month.</Empty>}
          {(forecast.data?.totals ?? [])
            .filter((t) => !currency || t.currencyCode === currency)
            .map((t) => (
              <p key={t.currencyCode} className="forecast-total">
                Likely <strong>{formatMoney(t.projected, { locale })}</strong> by the end of the month (between{" "}
                {formatMoney(t.projectedLow, { locale })} and {formatMoney(t.projectedHigh, { locale })})
                {t.budgetLimit ? ` against budgets of ${formatMoney(t.budgetLimit, { locale })}` : ""}.
              </p>
            ))}
          {(forecast.data?.categories ?? []).length > 0 && (
            <BarChart
              label="Projected month-end spending by category, with range"
              locale={locale}
              data={(forecast.data?.categories ?? [])
                .filter((c) => !currency || c.projected?.currencyCode === currency)
                .map((c) => ({
                  key: `${c.category}-${c.projected?.currencyCode}`,
                  label: categoryName(categories, c.category),
                  value: c.projected,
                  range: [c.projectedLow, c.projectedHigh] as [typeof c.projectedLow, typeof c.projectedHigh],
                  marker: c.budgetLimit,
                  level: c.overBudget ? "over" : "ok",
                  note: `${formatMoney(c.projectedLow, { locale })}–${formatMoney(c.projectedHigh, { locale })}${c.overBudget ? " · over budget" : ""}`,
                }))}
            />
          )}
        </Section>

        <Section title="Recurring payments" id="recurring">
          {recurring.error !== undefined && <ErrorNote error={recurring.error} what="find recurring payments" onRetry={recurring.reload} />}
          {recurring.loading && !recurring.data && <Loading what="recurring payments" />}
          {recurring.data && (recurring.data.recurringPayments ?? []).length === 0 && (
            <Empty>No subscriptions or regular bills found yet. They show up after two or three payments.</Empty>
          )}
          {(recurring.data?.recurringPayments ?? []).length > 0 && (
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Merchant</th>
                  <th scope="col">How often</th>
                  <th scope="col" className="num">
                    Usually
                  </th>
                  <th scope="col">Next</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {(recurring.data?.recurringPayments ?? []).map((r) => (
                  <tr key={r.id}>
                    <td data-label="Merchant">
                      {r.merchant}
                      {r.priceChange && (
                        <div className="small warn-text">
                          {formatMoney(r.priceChange.previousAmount, { locale })} → {formatMoney(r.priceChange.newAmount, { locale })}
                        </div>
                      )}
                    </td>
                    <td data-label="How often">{CADENCE[r.cadence ?? ""] ?? "—"}</td>
                    <td data-label="Usually" className="num">
                      {formatMoney(r.typicalAmount, { locale })}
                      <div className="muted small">{formatMoney(r.annualAmount, { locale })}/yr</div>
                    </td>
                    <td data-label="Next">{formatDate(r.nextExpectedDate, locale)}</td>
                    <td data-label="Status">{STATUS[r.status ?? ""] ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Section>
      </div>
    </div>
  );
}
