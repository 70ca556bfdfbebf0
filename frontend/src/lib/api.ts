// The finmesh JSON API as Envoy serves it (the google.api.http mappings in protos/),
// typed with the protobuf-es JSON types generated into gen/ts.
import type {
  BudgetJson,
  ListBudgetsResponseJson,
} from "@gen/finance/expense/v1/budget_service_pb";
import type { ExpenseJson, CategoryJson } from "@gen/finance/expense/v1/expense_pb";
import type {
  ImportStatementResponseJson,
  ListCategoriesResponseJson,
  ListExpensesResponseJson,
} from "@gen/finance/expense/v1/expense_service_pb";
import type {
  ForecastJson,
  ListInsightsResponseJson,
  ListRecurringResponseJson,
  SpendingSummaryJson,
} from "@gen/finance/insight/v1/insight_service_pb";
import type {
  CategoryScoreJson,
  ClassifyExpensesResponseJson,
  ClassifyItemJson,
  ParseExpenseResponseJson,
} from "@gen/finance/ml/v1/categorizer_service_pb";
import type { DateJson } from "@gen/google/type/date_pb";

export type { BudgetJson, ExpenseJson, CategoryJson, CategoryScoreJson };

/** One bad field of a google.rpc.BadRequest. */
export interface FieldViolation {
  field: string;
  description: string;
}

/** A failed API call: the HTTP status plus what the google.rpc.Status body said. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: number;
  readonly reason: string;
  readonly fieldViolations: FieldViolation[];

  constructor(status: number, message: string, code = 0, reason = "", fieldViolations: FieldViolation[] = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.reason = reason;
    this.fieldViolations = fieldViolations;
  }

  /** The violation for a field (matching `expense.amount` by `amount` too), if any. */
  violation(field: string): string | undefined {
    return this.fieldViolations.find((v) => v.field === field || v.field.endsWith(`.${field}`))?.description;
  }

  /** Builds the error from a response body (`{"code","message","details":[…]}`) or plain text. */
  static fromBody(status: number, text: string): ApiError {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return new ApiError(status, text.trim());
    }
    if (typeof body !== "object" || body === null) return new ApiError(status, text.trim());
    const b = body as { code?: number; message?: string; details?: Array<Record<string, unknown>> };
    let reason = "";
    const violations: FieldViolation[] = [];
    for (const d of b.details ?? []) {
      const type = String(d["@type"] ?? "");
      if (type.endsWith("google.rpc.ErrorInfo")) reason = String(d["reason"] ?? "");
      if (type.endsWith("google.rpc.BadRequest")) {
        for (const v of (d["fieldViolations"] as Array<Record<string, unknown>> | undefined) ?? []) {
          violations.push({ field: String(v["field"] ?? ""), description: String(v["description"] ?? "") });
        }
      }
    }
    return new ApiError(status, b.message ?? "", b.code ?? 0, reason, violations);
  }
}

/** What went wrong, in plain words for a person (not a developer). */
export function describeError(err: unknown, what = "do that"): string {
  if (!(err instanceof ApiError)) {
    if (err instanceof DOMException && err.name === "AbortError") return "Cancelled.";
    return `Couldn't ${what}: ${err instanceof Error ? err.message : String(err)}`;
  }
  switch (err.status) {
    case 0:
      return "Can't reach the finmesh server. Check that it is running (make up) and try again.";
    case 400:
      if (err.reason === "IDEMPOTENCY_KEY_REUSED") return "This was already submitted with different details. Try again.";
      if (err.fieldViolations.length)
        return err.fieldViolations.map((v) => `${fieldLabel(v.field)}: ${v.description}`).join(" · ");
      return `That didn't look right: ${err.message || "the server rejected the request"}.`;
    case 401:
      return "Your session has ended. Please sign in again.";
    case 403:
      return "You're not allowed to do that.";
    case 404:
      return "Not found. It may have been deleted.";
    case 409:
      return "Someone changed this at the same time. Reload it and try again.";
    case 413:
      return "That file is too large to upload.";
    case 429:
      return "Too many requests in a short time. Wait a moment and try again.";
    case 501:
      return `This part of finmesh isn't available yet (the server can't ${what} so far).`;
    case 503:
    case 502:
    case 504:
      return "A finmesh service is not responding right now. Try again in a moment.";
    default:
      return `Something went wrong on the server (${err.status}${err.message ? `: ${err.message}` : ""}).`;
  }
}

function fieldLabel(field: string): string {
  const last = field.split(".").pop() ?? field;
  return last.replace(/([A-Z])/g, " $1").replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

/** A random UUID (a request id for AIP-155 idempotency). */
export function newRequestId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** The typed client. `onUnauthenticated` runs on any 401 (the app then shows sign-in). */
export class Api {
  readonly baseUrl: string;
  readonly token: string;
  private readonly onUnauthenticated: () => void;
  private readonly fetchImpl: typeof fetch;

  constructor(baseUrl: string, token: string, onUnauthenticated: () => void, fetchImpl?: typeof fetch) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.token = token;
    this.onUnauthenticated = onUnauthenticated;
    this.fetchImpl = fetchImpl ?? ((...a) => fetch(...a));
  }

  url(path: string, query?: Query): string {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== "") qs.set(k, String(v));
    }
    const s = qs.toString();
    return `${this.baseUrl}${path}${s ? `?${s}` : ""}`;
  }

  /** Tells the app the token was refused (for requests made outside `fetch`, e.g. XHR). */
  notifyUnauthenticated(): void {
    this.onUnauthenticated();
  }

  authHeaders(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  /** Raw fetch with auth; throws ApiError for network failures and non-2xx statuses. */
  async fetch(method: string, path: string, opts: RequestOptions & { rawBody?: BodyInit } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...this.authHeaders(), ...opts.headers };
    let body: BodyInit | undefined = opts.rawBody;
    if (opts.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(opts.body);
    }
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path, opts.query), { method, headers, body, signal: opts.signal });
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") throw e;
      throw new ApiError(0, e instanceof Error ? e.message : String(e));
    }
    if (!res.ok) {
      const err = ApiError.fromBody(res.status, await res.text().catch(() => ""));
      if (res.status === 401) this.onUnauthenticated();
      throw err;
    }
    return res;
  }

  async call<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.fetch(method, path, opts);
    const text = await res.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  // ExpenseService
  listExpenses(
    q: { month?: string; category?: string; query?: string; pageSize?: number; pageToken?: string },
    signal?: AbortSignal,
  ) {
    return this.call<ListExpensesResponseJson>("GET", "/v1/expenses", { query: q, signal });
  }
  getExpense(id: string) {
    return this.call<ExpenseJson>("GET", `/v1/expenses/${encodeURIComponent(id)}`);
  }
  updateExpense(expense: ExpenseJson, updateMask: string[]) {
    return this.call<ExpenseJson>("PATCH", `/v1/expenses/${encodeURIComponent(expense.id ?? "")}`, {
      query: { updateMask: updateMask.join(",") },
      body: expense,
    });
  }
  deleteExpense(id: string, etag?: string) {
    return this.call<object>("DELETE", `/v1/expenses/${encodeURIComponent(id)}`, { query: { etag } });
  }
  quickAdd(text: string, requestId: string, locale: string, today: DateJson) {
    return this.call<ExpenseJson>("POST", "/v1/expenses:quickAdd", { body: { text, requestId, locale, today } });
  }
  listCategories() {
    return this.call<ListCategoriesResponseJson>("GET", "/v1/categories", { query: { pageSize: 500 } });
  }
  importUrl(filename: string, requestId: string, locale: string): string {
    return this.url("/v1/expenses:import", { filename, requestId, locale });
  }

  // BudgetService
  listBudgets(month: string, signal?: AbortSignal) {
    return this.call<ListBudgetsResponseJson>("GET", "/v1/budgets", { query: { month, pageSize: 500 }, signal });
  }
  getBudget(month: string, category: string) {
    return this.call<BudgetJson>("GET", `/v1/budgets/${month}/${encodeURIComponent(category)}`);
  }
  updateBudget(budget: BudgetJson, updateMask: string[]) {
    return this.call<BudgetJson>(
      "PATCH",
      `/v1/budgets/${budget.month}/${encodeURIComponent(budget.category ?? "")}`,
      { query: { updateMask: updateMask.join(",") }, body: budget },
    );
  }
  deleteBudget(month: string, category: string, etag?: string) {
    return this.call<object>("DELETE", `/v1/budgets/${month}/${encodeURIComponent(category)}`, { query: { etag } });
  }

  // CategorizerService
  classify(items: ClassifyItemJson[], signal?: AbortSignal) {
    return this.call<ClassifyExpensesResponseJson>("POST", "/v1/ml:classify", { body: { items }, signal });
  }
  parse(text: string, locale: string, today: DateJson, signal?: AbortSignal) {
    return this.call<ParseExpenseResponseJson>("POST", "/v1/ml:parse", { body: { text, locale, today }, signal });
  }

  // InsightService
  summary(month: string, signal?: AbortSignal) {
    return this.call<SpendingSummaryJson>("GET", "/v1/insights/summary", { query: { month }, signal });
  }
  listInsights(month: string, signal?: AbortSignal) {
    return this.call<ListInsightsResponseJson>("GET", "/v1/insights", { query: { month, pageSize: 50 }, signal });
  }
  listRecurring(signal?: AbortSignal) {
    return this.call<ListRecurringResponseJson>("GET", "/v1/insights/recurring", { query: { pageSize: 100 }, signal });
  }
  forecast(month: string, signal?: AbortSignal) {
    return this.call<ForecastJson>("GET", "/v1/insights/forecast", { query: { month }, signal });
  }
}

export type { ImportStatementResponseJson };
