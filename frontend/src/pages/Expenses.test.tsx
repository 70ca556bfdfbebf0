import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Api, type ExpenseJson } from "../lib/api";
import { SessionContext, TAXONOMY, type Session } from "../lib/session";
import type { WatchEvent } from "../lib/watch";
import { ExpensesPage } from "./Expenses";

afterEach(cleanup);

const expense = (id: string, extra: Partial<ExpenseJson> = {}): ExpenseJson => ({
  id,
  description: `Expense ${id}`,
  amount: { currencyCode: "GBP", units: "1", nanos: 250000000 },
  date: { year: 2025, month: 5, day: 3 },
  enrichmentState: "ENRICHMENT_STATE_ENRICHED",
  category: "groceries",
  categorySource: "CATEGORY_SOURCE_MODEL",
  categoryConfidence: 0.91,
  etag: "1",
  ...extra,
});

function setup(fetchImpl: typeof fetch) {
  const listeners = new Set<(e: WatchEvent) => void>();
  const session: Session = {
    api: new Api("http://edge", "tok", () => {}, fetchImpl),
    user: "alice",
    locale: "en-GB",
    month: "2025-05",
    setMonth: () => {},
    categories: TAXONOMY,
    watchStatus: "live",
    subscribe: (fn) => {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
    onReconnect: () => () => {},
  };
  render(
    <SessionContext.Provider value={session}>
      <ExpensesPage />
    </SessionContext.Provider>,
  );
  return { emit: (e: WatchEvent) => listeners.forEach((fn) => fn(e)) };
}

describe("ExpensesPage", () => {
  it("pages with the server's tokens and fills in enrichment from live events", async () => {
    const calls: URL[] = [];
    const fetchMock = vi.fn(async (url: string) => {
      const u = new URL(url);
      calls.push(u);
      if (u.searchParams.get("pageToken") === "p2") return new Response(JSON.stringify({ expenses: [expense("c")] }));
      return new Response(
        JSON.stringify({
          expenses: [expense("a", { enrichmentState: "ENRICHMENT_STATE_PENDING", category: "", categorySource: undefined }), expense("b")],
          nextPageToken: "p2",
        }),
      );
    });
    const { emit } = setup(fetchMock as unknown as typeof fetch);

    await screen.findByText("Expense a");
    expect(calls[0]!.searchParams.get("month")).toBe("2025-05");
    expect(calls[0]!.searchParams.get("pageSize")).toBe("25");
    expect(screen.getAllByText("£1.25")).toHaveLength(2);
    expect(screen.getByTestId("pending")).toBeTruthy();

    // The enrichment arrives on the watch stream: the row updates in place.
    act(() => emit({ expense: expense("a", { category: "dining", categorySource: "CATEGORY_SOURCE_MODEL", categoryConfidence: 0.88 }) }));
    expect(screen.queryByTestId("pending")).toBeNull();
    expect(screen.getByText("model 88%")).toBeTruthy();

    fireEvent.click(screen.getByRole("button", { name: "Older ›" }));
    await screen.findByText("Expense c");
    expect(calls.at(-1)!.searchParams.get("pageToken")).toBe("p2");
    expect(screen.getByRole("button", { name: "Older ›" })).toHaveProperty("disabled", true);

    fireEvent.click(screen.getByRole("button", { name: "‹ Newer" }));
    await screen.findByText("Expense a");
    await waitFor(() => expect(calls.at(-1)!.searchParams.get("pageToken")).toBeNull());
  });

  it("asks the model once for the runners-up of the suggested rows and files a row under one in a click", async () => {
    const classify: unknown[] = [];
    const patches: { url: URL; body: unknown }[] = [];
    const fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
      const u = new URL(url);
      if (u.pathname === "/v1/ml:classify") {
        classify.push(JSON.parse(String(init!.body)));
        return new Response(
          JSON.stringify({
            results: [{ category: "dining", alternatives: [{ category: "dining", confidence: 0.4 }, { category: "shopping", confidence: 0.3 }] }],
          }),
        );
      }
      if (init?.method === "PATCH") {
        patches.push({ url: u, body: JSON.parse(String(init.body)) });
        return new Response(JSON.stringify(expense("s", { category: "shopping", categorySource: "CATEGORY_SOURCE_USER", etag: "2" })));
      }
      return new Response(
        JSON.stringify({
          expenses: [expense("s", { description: "PHO SAIGON", category: "dining", categorySource: "CATEGORY_SOURCE_SUGGESTED" }), expense("m")],
        }),
      );
    });
    setup(fetchMock as unknown as typeof fetch);

    const offered = await screen.findByTestId("runners-up");
    // Only the suggested row is asked about, with what the model needs to classify it again.
    expect(classify).toEqual([{ items: [{ description: "PHO SAIGON", amount: expense("s").amount }] }]);
    fireEvent.click(within(offered).getByRole("button", { name: "Shopping" }));
    await screen.findByText(/Filed under Shopping/);
    expect(patches[0]!.url.pathname).toBe("/v1/expenses/s");
    expect(patches[0]!.body).toMatchObject({ category: "shopping", etag: "1" });
    expect(screen.queryByTestId("runners-up")).toBeNull();
    expect(classify).toHaveLength(1);
  });

  it("explains when there is nothing yet, and when the server cannot list", async () => {
    setup((async () => new Response(JSON.stringify({}))) as unknown as typeof fetch);
    expect(await screen.findByText(/No expenses this month yet/)).toBeTruthy();
    cleanup();
    setup((async () => new Response('{"code":12,"message":"not implemented"}', { status: 501 })) as unknown as typeof fetch);
    expect((await screen.findByRole("alert")).textContent).toMatch(/isn't available yet/);
  });
});
