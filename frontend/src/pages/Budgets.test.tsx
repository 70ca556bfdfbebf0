import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Api, type BudgetJson } from "../lib/api";
import { SessionContext, TAXONOMY, type Session } from "../lib/session";
import { BudgetsPage } from "./Budgets";

afterEach(cleanup);

const gbp = (units: string) => ({ currencyCode: "GBP", units, nanos: 0 });

function session(fetchImpl: typeof fetch): Session {
  return {
    api: new Api("http://edge", "tok", () => {}, fetchImpl),
    user: "alice",
    locale: "en-GB",
    month: "2025-05",
    setMonth: () => {},
    categories: TAXONOMY,
    watchStatus: "live",
    subscribe: () => () => {},
    onReconnect: () => () => {},
  };
}

describe("BudgetsPage", () => {
  it("shows a concurrent edit's fresh value on 409 and retries with the fresh etag", async () => {
    let current: BudgetJson = {
      month: "2025-05",
      category: "dining",
      limit: gbp("200"),
      spent: gbp("170"),
      remaining: gbp("30"),
      percentUsed: 85,
      etag: "v1",
    };
    const patches: { body: BudgetJson; etag?: string }[] = [];
    const fetchMock = vi.fn(async (url: string, init: RequestInit) => {
      const u = new URL(url);
      if (init.method === "GET" && u.pathname === "/v1/budgets") return new Response(JSON.stringify({ budgets: [current] }));
      if (init.method === "GET") return new Response(JSON.stringify(current));
      const body = JSON.parse(init.body as string) as BudgetJson;
      patches.push({ body, etag: body.etag });
      if (body.etag !== current.etag) return new Response(JSON.stringify({ code: 10, message: "stale etag" }), { status: 409 });
      current = { ...current, limit: body.limit, etag: `v${Number(current.etag!.slice(1)) + 1}` };
      return new Response(JSON.stringify(current));
    });
    render(
      <SessionContext.Provider value={session(fetchMock as unknown as typeof fetch)}>
        <BudgetsPage />
      </SessionContext.Provider>,
    );
    const row = await screen.findByTestId("budget");
    expect(row.dataset.level).toBe("warn");
    expect(screen.getByRole("progressbar", { name: "Dining budget used" }).getAttribute("aria-valuenow")).toBe("85");

    // Someone else raises the limit to £250 while we type £300.
    fireEvent.click(screen.getByRole("button", { name: "Change limit" }));
    fireEvent.change(screen.getByLabelText("Limit for Dining"), { target: { value: "300" } });
    current = { ...current, limit: gbp("250"), etag: "v2" };
    fireEvent.click(screen.getByRole("button", { name: "Save" }));

    const conflict = await screen.findByTestId("budget-conflict");
    expect(conflict.textContent).toContain("It is now £250.00");
    expect(conflict.textContent).toContain("You wanted £300.00");
    expect(patches).toHaveLength(1);
    expect(patches[0]!.etag).toBe("v1");

    fireEvent.click(screen.getByRole("button", { name: "Use my value" }));
    await waitFor(() => expect(screen.queryByTestId("budget-conflict")).toBeNull());
    expect(patches).toHaveLength(2);
    expect(patches[1]!.etag).toBe("v2");
    expect(screen.getByTestId("budget-limit").textContent).toBe("£300.00");
  });
});
