// One text box: "Latte at Starbucks £3.50 yesterday". A live preview of what the parser
// understood, Enter saves. The request id stays the same while the text does, so a double
// click or a retry never records two expenses.
import { useEffect, useRef, useState, type FormEvent } from "react";
import type { ParseExpenseResponseJson } from "@gen/finance/ml/v1/categorizer_service_pb";
import { ApiError, describeError, newRequestId, type ExpenseJson } from "../lib/api";
import { apiLocale, formatDate, today } from "../lib/dates";
import { formatMoney, num } from "../lib/money";
import { categoryName, useSession } from "../lib/session";
import { Spinner } from "./ui";

type Preview =
  | { state: "idle" }
  | { state: "loading" }
  | { state: "ok"; parsed: ParseExpenseResponseJson }
  | { state: "error"; error: unknown };

export function QuickAdd({ onAdded }: { onAdded: (e: ExpenseJson) => void }) {
  const { api, locale, categories } = useSession();
  const [draft, setDraft] = useState({ text: "", requestId: newRequestId() });
  const [preview, setPreview] = useState<Preview>({ state: "idle" });
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string>("");
  const savingRef = useRef(false);

  useEffect(() => {
    const text = draft.text.trim();
    if (text.length < 2) {
      setPreview({ state: "idle" });
      return;
    }
    const ctrl = new AbortController();
    setPreview((p) => (p.state === "ok" ? p : { state: "loading" }));
    const t = setTimeout(() => {
      api
        .parse(text, apiLocale(locale), today(), ctrl.signal)
        .then((parsed) => setPreview({ state: "ok", parsed }))
        .catch((e: unknown) => {
          if (!ctrl.signal.aborted) setPreview({ state: "error", error: e });
        });
    }, 250);
    return () => {
      clearTimeout(t);
      ctrl.abort();
    };
  }, [api, draft.text, locale]);

  async function save(ev: FormEvent) {
    ev.preventDefault();
    const text = draft.text.trim();
    if (!text || savingRef.current) return;
    savingRef.current = true;
    setSaving(true);
    setError(null);
    try {
      const e = await api.quickAdd(text, draft.requestId, apiLocale(locale), today());
      setSaved(`Added ${e.description || text} · ${formatMoney(e.amount, { locale })} · ${formatDate(e.date, locale)}`);
      setDraft({ text: "", requestId: newRequestId() });
      setPreview({ state: "idle" });
      onAdded(e);
    } catch (e) {
      setError(e);
    } finally {
      savingRef.current = false;
      setSaving(false);
    }
  }

  const p = preview.state === "ok" ? preview.parsed : undefined;
  const conf = p?.confidence;
  const pct = (x: number | string | undefined) => (num(x) ? ` (${Math.round(num(x) * 100)}%)` : "");
  return (
    <form className="quick-add card" onSubmit={save} aria-label="Quick add">
      <label htmlFor="quick-add-text" className="quick-label">
        Quick add
      </label>
      <div className="quick-row">
        <input
          id="quick-add-text"
          data-testid="quick-add"
          autoComplete="off"
          placeholder="Latte at Starbucks £3.50 yesterday"
          value={draft.text}
          onChange={(e) => {
            setSaved("");
            setError(null);
            setDraft({ text: e.target.value, requestId: newRequestId() });
          }}
          aria-describedby="quick-add-preview"
        />
        <button type="submit" className="primary" disabled={saving || !draft.text.trim()}>
          {saving ? "Saving…" : "Add"}
        </button>
      </div>
      <div id="quick-add-preview" className="preview" aria-live="polite" data-testid="quick-add-preview">
        {preview.state === "loading" && (
          <span className="muted">
            <Spinner label="Reading" /> Reading…
          </span>
        )}
        {p && (
          <dl className="chips">
            <div className={p.amount ? "" : "missing"}>
              <dt>Amount</dt>
              <dd data-testid="preview-amount">
                {p.amount ? formatMoney(p.amount, { locale, sign: p.direction === "DIRECTION_CREDIT" ? "+" : "" }) : "none yet — add one, e.g. £3.50"}
              </dd>
            </div>
            <div>
              <dt>Merchant</dt>
              <dd data-testid="preview-merchant">
                {p.merchant || "—"}
                <span className="muted">{pct(conf?.merchant)}</span>
              </dd>
            </div>
            <div>
              <dt>Date</dt>
              <dd data-testid="preview-date">{formatDate(p.date, locale)}</dd>
            </div>
            <div>
              <dt>Category</dt>
              <dd data-testid="preview-category">
                {p.category ? categoryName(categories, p.category) : "—"}
                <span className="muted">{pct(conf?.category)}</span>
              </dd>
            </div>
          </dl>
        )}
        {preview.state === "error" && (
          <span className="muted">
            {preview.error instanceof ApiError && preview.error.status === 501
              ? "Preview isn't available yet — you can still press Enter to save."
              : `No preview: ${describeError(preview.error, "read that")}`}
          </span>
        )}
        {preview.state === "idle" && !saved && !error && (
          <span className="muted">Type what you spent, where and when. Press Enter to save.</span>
        )}
        {saved && (
          <span className="note-ok" role="status">
            ✓ {saved}
          </span>
        )}
      </div>
      {error !== null && (
        <div className="note note-error" role="alert">
          {error instanceof ApiError && error.status === 400 && error.violation("text")
            ? `Couldn't save: ${error.violation("text")}`
            : describeError(error, "add expenses from text")}
        </div>
      )}
    </form>
  );
}
