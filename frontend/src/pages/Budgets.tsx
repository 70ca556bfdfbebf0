// Budgets for a month: a limit per category, progress bars (amber from 80%, red from 100%),
// rollover, and concurrent edits (409) shown with the fresh value and a retry.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { ApiError, describeError, type BudgetJson } from "../lib/api";
import { monthLabel } from "../lib/dates";
import { defaultCurrency, formatMoney, isAmountError, num, parseAmount, toDecimalString } from "../lib/money";
import { categoryName, useLiveEvents, useOnReconnect, useSession } from "../lib/session";
import { useAsync } from "../lib/useAsync";
import { Empty, ErrorNote, ProgressBar, Spinner, progressLevel } from "../components/ui";

interface Conflict {
  fresh: BudgetJson;
  mine: BudgetJson;
  mask: string[];
}

export function BudgetsPage() {
  const { api, month, locale, categories } = useSession();
  const list = useAsync((signal) => api.listBudgets(month, signal), [api, month]);
  const budgets = list.data?.budgets ?? [];

  // Spending changes as expenses arrive and are enriched: refresh, at most every 500 ms.
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useLiveEvents((ev) => {
    if (!ev.expense && ev.insight?.type !== "INSIGHT_TYPE_BUDGET_THRESHOLD") return;
    clearTimeout(timer.current);
    timer.current = setTimeout(list.reload, 500);
  });
  useEffect(() => () => clearTimeout(timer.current), []);
  useOnReconnect(list.reload);

  const upsert = (b: BudgetJson) =>
    list.setData((d) => {
      const old = d?.budgets ?? [];
      const exists = old.some((x) => x.category === b.category);
      return {
        ...d,
        budgets: exists ? old.map((x) => (x.category === b.category ? b : x)) : [...old, b].sort((a, z) => (a.category ?? "").localeCompare(z.category ?? "")),
      };
    });

  const unbudgeted = categories.filter((c) => c.id !== "income" && c.id !== "transfers" && !budgets.some((b) => b.category === c.id));

  return (
    <div className="page">
      <section className="card" aria-labelledby="budgets-title">
        <header className="card-head">
          <h2 id="budgets-title">Budgets for {monthLabel(month, locale)}</h2>
        </header>
        {list.error !== undefined && <ErrorNote error={list.error} what="list budgets" onRetry={list.reload} />}
        {list.loading && !list.data && (
          <div className="muted pad">
            <Spinner /> Loading budgets…
          </div>
        )}
        {list.data && budgets.length === 0 && <Empty>No budgets for this month yet. Set one below: pick a category and a monthly limit.</Empty>}
        <ul className="budgets" data-testid="budgets">
          {budgets.map((b) => (
            <BudgetRow key={`${b.month}/${b.category}`} budget={b} onChange={upsert} onDeleted={() => list.reload()} />
          ))}
        </ul>
      </section>
      <AddBudget month={month} options={unbudgeted.map((c) => c.id!)} onAdded={upsert} defaultCurrencyCode={budgets[0]?.limit?.currencyCode ?? defaultCurrency(locale)} />
    </div>
  );
}

function BudgetRow({ budget, onChange, onDeleted }: { budget: BudgetJson; onChange: (b: BudgetJson) => void; onDeleted: () => void }) {
  const { api, locale, categories } = useSession();
  const currency = budget.limit?.currencyCode ?? "GBP";
  const [limit, setLimit] = useState(toDecimalString(budget.limit));
  const [editing, setEditing] = useState(false);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState("");
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const percent = num(budget.percentUsed);
  const name = categoryName(categories, budget.category);

  useEffect(() => {
    if (!editing) setLimit(toDecimalString(budget.limit));
  }, [budget.limit, editing]);

  async function send(mine: BudgetJson, mask: string[]) {
    setSaving(true);
    setError("");
    try {
      const b = await api.updateBudget(mine, mask);
      onChange(b);
      setConflict(null);
      setEditing(false);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        try {
          const fresh = await api.getBudget(budget.month!, budget.category!);
          onChange(fresh);
          setConflict({ fresh, mine, mask });
        } catch (e2) {
          setError(describeError(e2, "reload the budget"));
        }
      } else {
        setError(describeError(err, "set budgets"));
      }
    } finally {
      setSaving(false);
    }
  }

  function saveLimit(ev: FormEvent) {
    ev.preventDefault();
    const m = parseAmount(limit, currency);
    if (isAmountError(m)) return setError(m.error);
    void send({ month: budget.month, category: budget.category, limit: m, etag: budget.etag }, ["limit"]);
  }

  async function remove() {
    setSaving(true);
    try {
      await api.deleteBudget(budget.month!, budget.category!, budget.etag);
      onDeleted();
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 409
          ? "This budget changed since you loaded it. It has been refreshed: check it and delete again."
          : describeError(err, "delete budgets"),
      );
      if (err instanceof ApiError && err.status === 409) onChange(await api.getBudget(budget.month!, budget.category!));
    } finally {
      setSaving(false);
    }
  }

  return (
    <li className="budget" data-testid="budget" data-category={budget.category} data-level={progressLevel(percent)}>
      <div className="budget-head">
        <strong>{name}</strong>
        <span className="budget-figures">
          <span data-testid="budget-spent">{formatMoney(budget.spent ?? { currencyCode: currency, units: "0" }, { locale })}</span>
          {" of "}
          <span data-testid="budget-limit">{formatMoney(budget.limit, { locale })}</span>
          <span className="muted"> · {percent.toFixed(0)}%</span>
        </span>
      </div>
      <ProgressBar percent={percent} label={`${name} budget used`} />
      <div className="budget-foot">
        <span className="muted small">
          {budget.overspent && budget.overspent.units !== "0" && (budget.overspent.units || budget.overspent.nanos)
            ? `Over by ${formatMoney(budget.overspent, { locale })}`
            : `${formatMoney(budget.remaining ?? { currencyCode: currency, units: "0" }, { locale })} left`}
          {budget.rollover && budget.carriedOver && toDecimalString(budget.carriedOver) !== "0"
            ? ` · includes ${formatMoney(budget.carriedOver, { locale })} carried over`
            : ""}
        </span>
        <label className="toggle">
          <input
            type="checkbox"
            checked={budget.rollover ?? false}
            disabled={saving}
            onChange={(e) => void send({ month: budget.month, category: budget.category, rollover: e.target.checked, etag: budget.etag }, ["rollover"])}
          />
          Roll over unspent
        </label>
        {editing ? (
          <form className="inline-form" onSubmit={saveLimit}>
            <label>
              <span className="sr-only">New limit for {name} ({currency})</span>
              <input value={limit} onChange={(e) => setLimit(e.target.value)} inputMode="decimal" size={8} autoFocus aria-label={`Limit for ${name}`} />
            </label>
            <button type="submit" className="primary" disabled={saving}>
              Save
            </button>
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <span>
            <button type="button" className="link" onClick={() => setEditing(true)}>
              Change limit
            </button>
            <button type="button" className="link danger-text" onClick={() => void remove()} disabled={saving}>
              Remove
            </button>
          </span>
        )}
      </div>
      {conflict && (
        <div className="note note-warn" role="alert" data-testid="budget-conflict">
          <p>
            This budget was changed elsewhere (another tab or device) while you were editing. It is now{" "}
            <strong>{formatMoney(conflict.fresh.limit, { locale })}</strong>
            {conflict.fresh.rollover ? " with rollover on" : " with rollover off"}.{" "}
            {conflict.mask.includes("limit") && <>You wanted {formatMoney(conflict.mine.limit, { locale })}.</>}
            {conflict.mask.includes("rollover") && <>You wanted rollover {conflict.mine.rollover ? "on" : "off"}.</>}
          </p>
          <button type="button" className="primary" onClick={() => void send({ ...conflict.mine, etag: conflict.fresh.etag }, conflict.mask)}>
            Use my value
          </button>{" "}
          <button type="button" onClick={() => { setConflict(null); setEditing(false); }}>
            Keep theirs
          </button>
        </div>
      )}
      {error && (
        <div className="note note-error" role="alert">
          {error}
        </div>
      )}
    </li>
  );
}

function AddBudget({ month, options, onAdded, defaultCurrencyCode }: { month: string; options: string[]; onAdded: (b: BudgetJson) => void; defaultCurrencyCode: string }) {
  const { api, categories } = useSession();
  const [category, setCategory] = useState("");
  const [limit, setLimit] = useState("");
  const [currency, setCurrency] = useState(defaultCurrencyCode);
  const [rollover, setRollover] = useState(false);
  const [error, setError] = useState("");
  const [saving, setSaving] = useState(false);
  useEffect(() => setCurrency(defaultCurrencyCode), [defaultCurrencyCode]);
  const chosen = category || options[0] || "";

  async function add(ev: FormEvent) {
    ev.preventDefault();
    if (!chosen) return setError("Every category already has a budget this month.");
    const m = parseAmount(limit, currency);
    if (isAmountError(m)) return setError(m.error);
    setSaving(true);
    setError("");
    try {
      // No etag: create, or overwrite a budget someone created meanwhile (AIP-134 upsert).
      onAdded(await api.updateBudget({ month, category: chosen, limit: m, rollover }, []));
      setLimit("");
      setCategory("");
    } catch (err) {
      setError(describeError(err, "set budgets"));
    } finally {
      setSaving(false);
    }
  }

  return (
    <section className="card" aria-labelledby="add-budget-title">
      <h2 id="add-budget-title">Set a budget</h2>
      <form className="add-budget" onSubmit={add}>
        <label>
          Category
          <select value={chosen} onChange={(e) => setCategory(e.target.value)} data-testid="budget-category">
            {options.map((id) => (
              <option key={id} value={id}>
                {categoryName(categories, id)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Monthly limit
          <input value={limit} onChange={(e) => setLimit(e.target.value)} inputMode="decimal" placeholder="200.00" data-testid="budget-limit-input" />
        </label>
        <label>
          Currency
          <input value={currency} onChange={(e) => setCurrency(e.target.value.toUpperCase().slice(0, 3))} size={4} maxLength={3} pattern="[A-Z]{3}" title="Three-letter currency code, e.g. GBP" />
        </label>
        <label className="toggle">
          <input type="checkbox" checked={rollover} onChange={(e) => setRollover(e.target.checked)} /> Roll over unspent
        </label>
        <button type="submit" className="primary" disabled={saving}>
          {saving ? "Saving…" : "Set budget"}
        </button>
      </form>
      {error && (
        <div className="note note-error" role="alert">
          {error}
        </div>
      )}
    </section>
  );
}
