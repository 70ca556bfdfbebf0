// The category of one expense: where it came from and how sure, changeable in one step.
import type { ExpenseJson, CategoryJson, CategoryScoreJson } from "../lib/api";
import { categoryName } from "../lib/session";
import { Spinner } from "./ui";
import { num } from "../lib/money";

export function sourceLabel(e: ExpenseJson): { text: string; kind: string } | null {
  switch (e.categorySource) {
    case "CATEGORY_SOURCE_MODEL":
      return { text: "model", kind: "model" };
    case "CATEGORY_SOURCE_RULE":
      return { text: "rule", kind: "rule" };
    case "CATEGORY_SOURCE_SUGGESTED":
      return { text: "suggestion", kind: "suggested" };
    case "CATEGORY_SOURCE_USER":
      return { text: "yours", kind: "user" };
    default:
      return null;
  }
}

/** How many of the model's runners-up a suggestion offers as one-click choices. */
export const RUNNERS_UP_SHOWN = 2;

export function CategoryCell({
  expense,
  categories,
  busy,
  onChange,
  alternatives,
}: {
  expense: ExpenseJson;
  categories: CategoryJson[];
  busy: boolean;
  onChange: (category: string) => void;
  /** The model's runners-up for a suggested category, most likely first. */
  alternatives?: CategoryScoreJson[];
}) {
  const pending = expense.enrichmentState === "ENRICHMENT_STATE_PENDING" && !expense.category;
  const src = sourceLabel(expense);
  const conf = num(expense.categoryConfidence);
  const showConf = src && src.kind !== "user" && conf > 0;
  const known = categories.some((c) => c.id === expense.category);
  const label = `Category of ${expense.description ?? "expense"}`;
  const others =
    src?.kind === "suggested"
      ? (alternatives ?? []).filter((a) => a.category && a.category !== expense.category).slice(0, RUNNERS_UP_SHOWN)
      : [];
  return (
    <div className="category-cell" data-testid="category-cell" data-category={expense.category ?? ""} data-source={src?.kind ?? "none"}>
      {pending ? (
        <span className="pending" data-testid="pending">
          <Spinner label="Categorising" /> Categorising…
        </span>
      ) : (
        <>
          <select
            aria-label={label}
            value={expense.category ?? ""}
            disabled={busy}
            onChange={(ev) => onChange(ev.target.value)}
            title={expense.categoryExplanation || undefined}
          >
            {!expense.category && <option value="">Choose…</option>}
            {expense.category && !known && <option value={expense.category}>{categoryName(categories, expense.category)}</option>}
            {categories.map((c) => (
              <option key={c.id} value={c.id}>
                {categoryName(categories, c.id)}
              </option>
            ))}
          </select>
          {src && (
            <span className={`badge badge-${src.kind}`} title={expense.categoryExplanation || undefined}>
              {src.text}
              {showConf ? ` ${Math.round(conf * 100)}%` : ""}
            </span>
          )}
          {src?.kind === "suggested" && expense.category && (
            <button type="button" className="link small" disabled={busy} onClick={() => onChange(expense.category!)}>
              Confirm
            </button>
          )}
          {others.length > 0 && (
            <span className="runners-up" data-testid="runners-up">
              <span className="muted small">or</span>
              {others.map((a) => (
                <button
                  key={a.category}
                  data-category={a.category}
                  type="button"
                  className="link small"
                  disabled={busy}
                  title={`The model's next guess: ${Math.round(num(a.confidence) * 100)}%`}
                  onClick={() => onChange(a.category!)}
                >
                  {categoryName(categories, a.category!)}
                </button>
              ))}
            </span>
          )}
          {expense.enrichmentState === "ENRICHMENT_STATE_FAILED" && !expense.category && (
            <span className="muted small">couldn't categorise — pick one</span>
          )}
        </>
      )}
      {busy && <Spinner label="Saving" />}
    </div>
  );
}
