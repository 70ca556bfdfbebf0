// Import a bank statement: drop or choose a CSV/OFX/QIF file, watch it upload, then see
// what was imported, what was already there and which lines were rejected and why.
import { useRef, useState, type DragEvent } from "react";
import { describeError, newRequestId, type ExpenseJson, type ImportStatementResponseJson } from "../lib/api";
import { apiLocale, formatDate } from "../lib/dates";
import { formatMoney } from "../lib/money";
import { categoryName, useLiveEvents, useSession } from "../lib/session";
import { CategoryCell } from "../components/CategoryCell";
import { Empty, Spinner } from "../components/ui";
import { uploadStatement } from "../lib/upload";

const MAX_ROWS = 50;

type State =
  | { step: "idle" }
  | { step: "uploading"; file: File; progress: number }
  | { step: "done"; file: File; result: ImportStatementResponseJson }
  | { step: "error"; file: File; error: unknown };

const FORMAT: Record<string, string> = {
  STATEMENT_FORMAT_CSV: "CSV",
  STATEMENT_FORMAT_OFX: "OFX",
  STATEMENT_FORMAT_QIF: "QIF",
};

export function ImportPage() {
  const { api, locale, categories } = useSession();
  const [state, setState] = useState<State>({ step: "idle" });
  const [dragging, setDragging] = useState(false);
  const [rows, setRows] = useState<ExpenseJson[]>([]);
  const [rowsLoading, setRowsLoading] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  const abortRef = useRef<() => void>(() => {});

  useLiveEvents((ev) => {
    const e = ev.expense;
    if (e?.id) setRows((rs) => rs.map((r) => (r.id === e.id ? e : r)));
  });

  async function start(file: File) {
    if (!/\.(csv|ofx|qfx|qif|txt)$/i.test(file.name)) {
      setState({ step: "error", file, error: new Error("choose a CSV, OFX, QFX or QIF file") });
      return;
    }
    setRows([]);
    setState({ step: "uploading", file, progress: 0 });
    const up = uploadStatement(
      api,
      file,
      newRequestId(),
      apiLocale(locale),
      (progress) => setState({ step: "uploading", file, progress }),
    );
    abortRef.current = up.abort;
    try {
      const result = await up.promise;
      setState({ step: "done", file, result });
      const ids = (result.expenseIds ?? []).slice(0, MAX_ROWS);
      setRowsLoading(true);
      const loaded: ExpenseJson[] = [];
      for (let i = 0; i < ids.length; i += 8) {
        const batch = await Promise.all(ids.slice(i, i + 8).map((id) => api.getExpense(id).catch(() => null)));
        loaded.push(...batch.filter((x): x is ExpenseJson => x !== null));
        setRows([...loaded]);
      }
    } catch (error) {
      setState({ step: "error", file, error });
    } finally {
      setRowsLoading(false);
    }
  }

  function onDrop(ev: DragEvent) {
    ev.preventDefault();
    setDragging(false);
    const f = ev.dataTransfer.files[0];
    if (f) void start(f);
  }

  const busy = state.step === "uploading";
  return (
    <div className="page">
      <section className="card" aria-labelledby="import-title">
        <h2 id="import-title">Import a bank statement</h2>
        <div
          className={`dropzone ${dragging ? "dragging" : ""}`}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
          data-testid="dropzone"
        >
          <p>
            <strong>Drop a statement file here</strong>
            <br />
            <span className="muted">CSV (most UK and US banks), OFX/QFX or QIF. Importing the same file twice adds nothing.</span>
          </p>
          <input
            ref={inputRef}
            id="statement-file"
            type="file"
            accept=".csv,.ofx,.qfx,.qif,.txt,text/csv,application/x-ofx"
            className="sr-only"
            data-testid="file-input"
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) void start(f);
              e.target.value = "";
            }}
            disabled={busy}
          />
          <label htmlFor="statement-file" className="button primary" tabIndex={0} onKeyDown={(e) => {
            if (e.key === "Enter" || e.key === " ") {
              e.preventDefault();
              inputRef.current?.click();
            }
          }}>
            Choose a file…
          </label>
        </div>

        {state.step === "uploading" && (
          <div className="upload" role="status" data-testid="upload-progress">
            <span>
              {state.progress < 1 ? `Uploading ${state.file.name}… ${Math.round(state.progress * 100)}%` : `Reading ${state.file.name}…`}
            </span>
            <progress max={1} value={state.progress < 1 ? state.progress : undefined} aria-label="Upload progress" />
            <button type="button" onClick={() => abortRef.current()}>
              Cancel
            </button>
          </div>
        )}
        {state.step === "error" && (
          <div className="note note-error" role="alert">
            {state.error instanceof Error && !(state.error instanceof DOMException) && !("status" in state.error)
              ? `Couldn't import ${state.file.name}: ${state.error.message}.`
              : `Couldn't import ${state.file.name}. ${describeError(state.error, "import statements")}`}
          </div>
        )}
      </section>

      {state.step === "done" && (
        <section className="card" aria-labelledby="result-title" data-testid="import-result">
          <h2 id="result-title">
            {state.file.name}
            {state.result.format && FORMAT[state.result.format] ? ` (${FORMAT[state.result.format]})` : ""}
          </h2>
          <div className="stats">
            <div className="stat">
              <span className="stat-label">Imported</span>
              <span className="stat-value" data-testid="imported-count">{state.result.importedCount ?? 0}</span>
            </div>
            <div className="stat">
              <span className="stat-label">Already there</span>
              <span className="stat-value" data-testid="duplicate-count">{state.result.duplicateCount ?? 0}</span>
            </div>
            <div className="stat">
              <span className="stat-label">Rejected</span>
              <span className="stat-value" data-testid="rejected-count">{state.result.rejectedCount ?? 0}</span>
            </div>
          </div>
          {(state.result.rejectedLines ?? []).length > 0 && (
            <>
              <h3>Lines we couldn't read</h3>
              <table className="table" data-testid="rejected-lines">
                <thead>
                  <tr>
                    <th scope="col">Line</th>
                    <th scope="col">Why</th>
                    <th scope="col">Content</th>
                  </tr>
                </thead>
                <tbody>
                  {(state.result.rejectedLines ?? []).map((l) => (
                    <tr key={l.lineNumber}>
                      <td data-label="Line">{l.lineNumber}</td>
                      <td data-label="Why">{l.reason}</td>
                      <td data-label="Content">
                        <code>{l.content}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
          <h3>Imported expenses</h3>
          {(state.result.importedCount ?? 0) === 0 && (
            <Empty>{(state.result.duplicateCount ?? 0) > 0 ? "Every line was already imported before — nothing new." : "No expenses were imported."}</Empty>
          )}
          {rowsLoading && rows.length === 0 && (
            <div className="muted pad">
              <Spinner /> Loading the imported expenses…
            </div>
          )}
          {rows.length > 0 && (
            <table className="table" data-testid="imported-rows">
              <thead>
                <tr>
                  <th scope="col">Date</th>
                  <th scope="col">Description</th>
                  <th scope="col">Category</th>
                  <th scope="col" className="num">
                    Amount
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((e) => (
                  <tr key={e.id} data-testid="imported-row">
                    <td data-label="Date">{formatDate(e.date, locale)}</td>
                    <td data-label="Description">{e.merchant || e.description}</td>
                    <td data-label="Category">
                      {e.enrichmentState === "ENRICHMENT_STATE_PENDING" && !e.category ? (
                        <CategoryCell expense={e} categories={categories} busy={false} onChange={() => {}} />
                      ) : (
                        categoryName(categories, e.category)
                      )}
                    </td>
                    <td data-label="Amount" className={`num ${e.direction === "DIRECTION_CREDIT" ? "credit" : ""}`}>
                      {formatMoney(e.amount, { locale, sign: e.direction === "DIRECTION_CREDIT" ? "+" : "" })}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {(state.result.expenseIds ?? []).length > MAX_ROWS && (
            <p className="muted">
              Showing the first {MAX_ROWS} of {state.result.expenseIds!.length}. See them all on the <a href="#/expenses">Expenses</a> page.
            </p>
          )}
        </section>
      )}
    </div>
  );
}
