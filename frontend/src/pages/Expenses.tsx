// Expenses for a month: quick add, search, category filter, pages, live enrichment,
// one-step category changes, edit and delete with conflicts explained.
import { useEffect, useState, type FormEvent } from "react";
import { ApiError, describeError, type CategoryScoreJson, type ExpenseJson } from "../lib/api";
import { dateToIso, formatDate, isoToDate } from "../lib/dates";
import { formatMoney, isAmountError, parseAmount, toDecimalString } from "../lib/money";
import { categoryName, useLiveEvents, useOnReconnect, useSession } from "../lib/session";
import { useAsync } from "../lib/useAsync";
import { CategoryCell } from "../components/CategoryCell";
import { QuickAdd } from "../components/QuickAdd";
import { Empty, ErrorNote, Spinner } from "../components/ui";

const PAGE_SIZE = 25;

type RowNote = { kind: "error" | "info"; text: string };

export function ExpensesPage() {
  const { api, month, categories, locale } = useSession();
  const [search, setSearch] = useState("");
  const [query, setQuery] = useState("");
  const [category, setCategory] = useState("");
  const [tokens, setTokens] = useState<string[]>([""]);
  const [busy, setBusy] = useState<Record<string, boolean>>({});
  const [notes, setNotes] = useState<Record<string, RowNote>>({});
  const [editing, setEditing] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null);

  useEffect(() => {
    const t = setTimeout(() => setQuery(search.trim()), 300);
    return () => clearTimeout(t);
  }, [search]);
  useEffect(() => setTokens([""]), [month, query, category]);

  const pageToken = tokens[tokens.length - 1] ?? "";
  const list = useAsync(
    (signal) => api.listExpenses({ month, category, query, pageSize: PAGE_SIZE, pageToken }, signal),
    [api, month, category, query, pageToken],
  );
  const rows = list.data?.expenses ?? [];

  // The model's runners-up for the rows it only suggested a category for, in one call per
  // page: one click files the expense under the person's pick. Optional: on error, none shown.
  const suggested = rows.filter((e) => e.categorySource === "CATEGORY_SOURCE_SUGGESTED" && e.category && e.description);
  const runnersUp = useAsync(
    async (signal): Promise<Record<string, CategoryScoreJson[]>> => {
      if (suggested.length === 0) return {};
      const items = suggested.map((e) => ({ description: e.description, direction: e.direction, amount: e.amount }));
      const r = await api.classify(items, signal);
      return Object.fromEntries(suggested.map((e, i) => [e.id!, r.results?.[i]?.alternatives ?? []]));
    },
    [api, suggested.map((e) => `${e.id}:${e.category}`).join(",")],
  );

  const replaceRow = (e: ExpenseJson) =>
    list.setData((d) => d && { ...d, expenses: (d.expenses ?? []).map((x) => (x.id === e.id ? e : x)) });
  const removeRow = (id: string) =>
    list.setData((d) => d && { ...d, expenses: (d.expenses ?? []).filter((x) => x.id !== id) });
  const note = (id: string, n: RowNote | null) => {
    setNotes((s) => {
      const next = { ...s };
      if (n) next[id] = n;
      else delete next[id];
      return next;
    });
    // Confirmations fade after a while; errors stay until the next action on the row.
    if (n?.kind === "info") setTimeout(() => setNotes((s) => (s[id] === n ? (({ [id]: _, ...rest }) => rest)(s) : s)), 8000);
  };

  const matchesView = (e: ExpenseJson) =>
    dateToIso(e.date).startsWith(month) && (!category || e.category === category) && !query;

  function added(e: ExpenseJson) {
    if (tokens.length === 1 && matchesView(e)) {
      list.setData((d) => ({ ...d, expenses: [e, ...(d?.expenses ?? []).filter((x) => x.id !== e.id)] }));
    } else {
      list.reload();
    }
  }

  useLiveEvents((ev) => {
    const e = ev.expense;
    if (!e?.id) return;
    list.setData((d) => {
      if (!d) return d;
      const existing = d.expenses ?? [];
      if (existing.some((x) => x.id === e.id)) return { ...d, expenses: existing.map((x) => (x.id === e.id ? e : x)) };
      return d;
    });
  });
  useOnReconnect(() => list.reload());

  async function changeCategory(e: ExpenseJson, newCategory: string) {
    const id = e.id!;
    setBusy((b) => ({ ...b, [id]: true }));
    note(id, null);
    try {
      try {
        replaceRow(await api.updateExpense({ id, category: newCategory, etag: e.etag }, ["category"]));
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 409)) throw err;
        // Someone (usually the model, moments ago) changed the expense. Unless that was a
        // person choosing a category, apply the user's choice to the fresh version.
        const fresh = await api.getExpense(id);
        if (fresh.categorySource === "CATEGORY_SOURCE_USER" && fresh.category !== e.category) {
          replaceRow(fresh);
          note(id, {
            kind: "info",
            text: `This expense was changed elsewhere to ${categoryName(categories, fresh.category)} while you were choosing. Pick again if that's wrong.`,
          });
          return;
        }
        replaceRow(await api.updateExpense({ id, category: newCategory, etag: fresh.etag }, ["category"]));
      }
      note(id, { kind: "info", text: `Filed under ${categoryName(categories, newCategory)} — finmesh will remember this merchant.` });
    } catch (err) {
      note(id, { kind: "error", text: describeError(err, "change categories") });
    } finally {
      setBusy((b) => ({ ...b, [id]: false }));
    }
  }

  async function doDelete(e: ExpenseJson) {
    const id = e.id!;
    setBusy((b) => ({ ...b, [id]: true }));
    try {
      await api.deleteExpense(id, e.etag);
      removeRow(id);
      setConfirmDelete(null);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        const fresh = await api.getExpense(id).catch(() => null);
        if (fresh) replaceRow(fresh);
        note(id, {
          kind: "error",
          text: "This expense changed after you loaded it (shown now as it is). Check it, then delete again if you still want to.",
        });
      } else if (err instanceof ApiError && err.status === 404) {
        removeRow(id);
      } else {
        note(id, { kind: "error", text: describeError(err, "delete expenses") });
      }
      setConfirmDelete(null);
    } finally {
      setBusy((b) => ({ ...b, [id]: false }));
    }
  }

  return (
    <div className="page">
      <QuickAdd onAdded={added} />
      <section className="card" aria-labelledby="expenses-title">
        <header className="card-head">
          <h2 id="expenses-title">Expenses</h2>
          <div className="filters">
            <input
              type="search"
              aria-label="Search expenses"
              placeholder="Search description or merchant"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
            />
            <select aria-label="Filter by category" value={category} onChange={(e) => setCategory(e.target.value)}>
              <option value="">All categories</option>
              {categories.map((c) => (
                <option key={c.id} value={c.id}>
                  {categoryName(categories, c.id)}
                </option>
              ))}
            </select>
          </div>
        </header>
        {list.error !== undefined && <ErrorNote error={list.error} what="list expenses" onRetry={list.reload} />}
        {list.loading && !list.data && (
          <div className="muted pad">
            <Spinner /> Loading expenses…
          </div>
        )}
        {list.data && rows.length === 0 && (
          <Empty>
            {query || category
              ? "No expenses match these filters this month."
              : "No expenses this month yet. Type one in Quick add above, or import a statement."}
          </Empty>
        )}
        {rows.length > 0 && (
          <table className="table expenses" data-testid="expenses-table">
            <thead>
              <tr>
                <th scope="col">Date</th>
                <th scope="col">Description</th>
                <th scope="col">Category</th>
                <th scope="col" className="num">
                  Amount
                </th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <ExpenseRow
                  key={e.id}
                  expense={e}
                  busy={busy[e.id!] ?? false}
                  note={notes[e.id!]}
                  editing={editing === e.id}
                  confirming={confirmDelete === e.id}
                  onEdit={() => setEditing(editing === e.id ? null : e.id!)}
                  onSaved={(x) => {
                    replaceRow(x);
                    setEditing(null);
                    note(x.id!, null);
                  }}
                  onConflict={(fresh) => replaceRow(fresh)}
                  alternatives={runnersUp.data?.[e.id!]}
                  onCategory={(c) => void changeCategory(e, c)}
                  onAskDelete={() => setConfirmDelete(e.id!)}
                  onCancelDelete={() => setConfirmDelete(null)}
                  onDelete={() => void doDelete(e)}
                  locale={locale}
                />
              ))}
            </tbody>
          </table>
        )}
        <nav className="pager" aria-label="Pages of expenses">
          <button type="button" disabled={tokens.length <= 1} onClick={() => setTokens((t) => t.slice(0, -1))}>
            ‹ Newer
          </button>
          <span className="muted">Page {tokens.length}</span>
          <button
            type="button"
            disabled={!list.data?.nextPageToken}
            onClick={() => setTokens((t) => [...t, list.data!.nextPageToken!])}
          >
            Older ›
          </button>
        </nav>
      </section>
    </div>
  );
}

function ExpenseRow(props: {
  expense: ExpenseJson;
  busy: boolean;
  note: RowNote | undefined;
  editing: boolean;
  confirming: boolean;
  locale: string;
  onEdit: () => void;
  onSaved: (e: ExpenseJson) => void;
  onConflict: (fresh: ExpenseJson) => void;
  alternatives: CategoryScoreJson[] | undefined;
  onCategory: (c: string) => void;
  onAskDelete: () => void;
  onCancelDelete: () => void;
  onDelete: () => void;
}) {
  const { categories } = useSession();
  const e = props.expense;
  const credit = e.direction === "DIRECTION_CREDIT";
  return (
    <>
      <tr data-testid="expense-row" data-id={e.id} data-enrichment={e.enrichmentState}>
        <td data-label="Date">{formatDate(e.date, props.locale)}</td>
        <td data-label="Description">
          <div>
            <div className="desc">{e.merchant || e.description}</div>
            {e.merchant && e.description && e.merchant !== e.description && <div className="muted small">{e.description}</div>}
          </div>
        </td>
        <td data-label="Category">
          <CategoryCell
            expense={e}
            categories={categories}
            busy={props.busy}
            onChange={props.onCategory}
            alternatives={props.alternatives}
          />
        </td>
        <td data-label="Amount" className={`num ${credit ? "credit" : ""}`}>
          {formatMoney(e.amount, { locale: props.locale, sign: credit ? "+" : "" })}
        </td>
        <td className="actions">
          {props.confirming ? (
            <span className="confirm" onKeyDown={(ev) => ev.key === "Escape" && props.onCancelDelete()}>
              <span>Delete?</span>
              <button type="button" className="danger" onClick={props.onDelete} disabled={props.busy} autoFocus>
                Delete
              </button>
              <button type="button" onClick={props.onCancelDelete}>
                Keep
              </button>
            </span>
          ) : (
            <>
              <button type="button" className="link" onClick={props.onEdit} aria-expanded={props.editing}>
                Edit
              </button>
              <button type="button" className="link danger-text" onClick={props.onAskDelete}>
                Delete
              </button>
            </>
          )}
        </td>
      </tr>
      {props.note && (
        <tr className="row-note">
          <td colSpan={5}>
            <div className={`note note-${props.note.kind === "error" ? "error" : "info"}`} role={props.note.kind === "error" ? "alert" : "status"}>
              {props.note.text}
            </div>
          </td>
        </tr>
      )}
      {props.editing && (
        <tr className="row-edit">
          <td colSpan={5}>
            <EditExpense expense={e} onSaved={props.onSaved} onConflict={props.onConflict} onCancel={props.onEdit} />
          </td>
        </tr>
      )}
    </>
  );
}

function EditExpense({
  expense,
  onSaved,
  onConflict,
  onCancel,
}: {
  expense: ExpenseJson;
  onSaved: (e: ExpenseJson) => void;
  onConflict: (fresh: ExpenseJson) => void;
  onCancel: () => void;
}) {
  const { api, locale } = useSession();
  const currency = expense.amount?.currencyCode ?? "GBP";
  const [base, setBase] = useState(expense);
  const [description, setDescription] = useState(expense.description ?? "");
  const [merchant, setMerchant] = useState(expense.merchant ?? "");
  const [amount, setAmount] = useState(toDecimalString(expense.amount));
  const [date, setDate] = useState(dateToIso(expense.date));
  const [error, setError] = useState("");
  const [saving, setSaving] = useState(false);

  async function save(ev: FormEvent) {
    ev.preventDefault();
    const patch: ExpenseJson = { id: base.id, etag: base.etag };
    const mask: string[] = [];
    if (description.trim() !== (base.description ?? "")) {
      if (!description.trim()) return setError("The description can't be empty.");
      patch.description = description.trim();
      mask.push("description");
    }
    if (merchant.trim() !== (base.merchant ?? "")) {
      patch.merchant = merchant.trim();
      mask.push("merchant");
    }
    if (amount.trim() !== toDecimalString(base.amount)) {
      const m = parseAmount(amount, currency);
      if (isAmountError(m)) return setError(m.error);
      patch.amount = m;
      mask.push("amount");
    }
    if (date !== dateToIso(base.date)) {
      const d = isoToDate(date);
      if (!d) return setError("Choose a date.");
      patch.date = d;
      mask.push("date");
    }
    if (!mask.length) return onCancel();
    setSaving(true);
    setError("");
    try {
      onSaved(await api.updateExpense(patch, mask));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        const fresh = await api.getExpense(base.id!).catch(() => null);
        if (fresh) {
          // Say what changed elsewhere; keep the user's edits, take the fresh value of
          // every field they did not touch.
          const changes: string[] = [];
          if (fresh.description !== base.description) changes.push(`description is now "${fresh.description}"`);
          if (fresh.merchant !== base.merchant) changes.push(`merchant is now "${fresh.merchant || "none"}"`);
          if (toDecimalString(fresh.amount) !== toDecimalString(base.amount) || fresh.amount?.currencyCode !== base.amount?.currencyCode)
            changes.push(`amount is now ${formatMoney(fresh.amount, { locale })}`);
          if (dateToIso(fresh.date) !== dateToIso(base.date)) changes.push(`date is now ${formatDate(fresh.date, locale)}`);
          if (fresh.category !== base.category) changes.push(`category is now ${fresh.category || "none"}`);
          if (description === (base.description ?? "")) setDescription(fresh.description ?? "");
          if (merchant === (base.merchant ?? "")) setMerchant(fresh.merchant ?? "");
          if (amount === toDecimalString(base.amount)) setAmount(toDecimalString(fresh.amount));
          if (date === dateToIso(base.date)) setDate(dateToIso(fresh.date));
          setBase(fresh);
          onConflict(fresh);
          setError(
            `This expense changed while you were editing${changes.length ? `: ${changes.join(", ")}` : ""}. ` +
              "Your own changes are still in the form — save again to apply them to the latest version.",
          );
        } else {
          setError("This expense changed or was deleted while you were editing. Close the form and reload.");
        }
      } else if (err instanceof ApiError && err.fieldViolations.length) {
        setError(describeError(err));
      } else {
        setError(describeError(err, "edit expenses"));
      }
    } finally {
      setSaving(false);
    }
  }

  return (
    <form className="edit-form" onSubmit={save} aria-label="Edit expense" onKeyDown={(ev) => ev.key === "Escape" && onCancel()}>
      <label>
        Description
        <input value={description} onChange={(e) => setDescription(e.target.value)} autoFocus />
      </label>
      <label>
        Merchant
        <input value={merchant} onChange={(e) => setMerchant(e.target.value)} />
      </label>
      <label>
        Amount ({currency})
        <input value={amount} onChange={(e) => setAmount(e.target.value)} inputMode="decimal" />
      </label>
      <label>
        Date
        <input type="date" value={date} onChange={(e) => setDate(e.target.value)} />
      </label>
      <div className="edit-actions">
        <button type="submit" className="primary" disabled={saving}>
          {saving ? "Saving…" : "Save"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {error && (
        <div className="note note-error" role="alert">
          {error}
        </div>
      )}
    </form>
  );
}
