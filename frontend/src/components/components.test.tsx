import { act, cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Api } from "../lib/api";
import { SessionContext, TAXONOMY, type Session } from "../lib/session";
import { CategoryCell } from "./CategoryCell";
import { QuickAdd } from "./QuickAdd";
import { ProgressBar } from "./ui";

afterEach(cleanup);

describe("ProgressBar", () => {
  it.each([
    [0, "ok"],
    [79.9, "ok"],
    [80, "warn"],
    [99.99, "warn"],
    [100, "over"],
    [140, "over"],
  ])("at %s%% is %s", (percent, level) => {
    render(<ProgressBar percent={percent} label="Dining budget used" />);
    const bar = screen.getByRole("progressbar", { name: "Dining budget used" });
    expect(bar.dataset.level).toBe(level);
    expect(bar.getAttribute("aria-valuenow")).toBe(String(Math.round(percent)));
  });
});

describe("CategoryCell", () => {
  const categories = TAXONOMY;

  it("shows a spinner while enrichment is pending", () => {
    render(
      <CategoryCell expense={{ id: "e1", enrichmentState: "ENRICHMENT_STATE_PENDING" }} categories={categories} busy={false} onChange={() => {}} />,
    );
    expect(screen.getByTestId("pending").textContent).toContain("Categorising");
    expect(screen.queryByRole("combobox")).toBeNull();
  });

  it("shows the source and confidence and changes the category in one step", () => {
    const onChange = vi.fn();
    render(
      <CategoryCell
        expense={{
          id: "e1",
          description: "Latte",
          category: "dining",
          categorySource: "CATEGORY_SOURCE_SUGGESTED",
          categoryConfidence: 0.42,
          enrichmentState: "ENRICHMENT_STATE_ENRICHED",
        }}
        categories={categories}
        busy={false}
        onChange={onChange}
      />,
    );
    expect(screen.getByText("suggestion 42%")).toBeTruthy();
    fireEvent.change(screen.getByRole("combobox", { name: "Category of Latte" }), { target: { value: "groceries" } });
    expect(onChange).toHaveBeenCalledWith("groceries");
    fireEvent.click(screen.getByRole("button", { name: "Confirm" }));
    expect(onChange).toHaveBeenLastCalledWith("dining");
  });

  it("offers the model's runners-up of a suggestion as one-click choices, not of a decided category", () => {
    const onChange = vi.fn();
    const alternatives = [
      { category: "dining", confidence: 0.3 }, // the suggestion itself: not offered again
      { category: "groceries", confidence: 0.2 },
      { category: "shopping", confidence: 0.1 },
      { category: "travel", confidence: 0.05 },
    ];
    const expense = {
      id: "e1",
      description: "PHO SAIGON",
      category: "dining",
      categorySource: "CATEGORY_SOURCE_SUGGESTED" as const,
      categoryConfidence: 0.31,
      enrichmentState: "ENRICHMENT_STATE_ENRICHED" as const,
    };
    const { rerender } = render(
      <CategoryCell expense={expense} categories={categories} busy={false} onChange={onChange} alternatives={alternatives} />,
    );
    const offered = within(screen.getByTestId("runners-up")).getAllByRole("button");
    expect(offered.map((b) => b.textContent)).toEqual(["Groceries", "Shopping"]);
    fireEvent.click(offered[1]!);
    expect(onChange).toHaveBeenCalledWith("shopping");
    rerender(
      <CategoryCell
        expense={{ ...expense, categorySource: "CATEGORY_SOURCE_MODEL" }}
        categories={categories}
        busy={false}
        onChange={onChange}
        alternatives={alternatives}
      />,
    );
    expect(screen.queryByTestId("runners-up")).toBeNull();
  });

  it("labels the user's own choice without a confidence", () => {
    render(
      <CategoryCell
        expense={{ id: "e1", category: "dining", categorySource: "CATEGORY_SOURCE_USER", categoryConfidence: 1, enrichmentState: "ENRICHMENT_STATE_ENRICHED" }}
        categories={categories}
        busy={false}
        onChange={() => {}}
      />,
    );
    expect(screen.getByText("yours")).toBeTruthy();
  });
});

describe("QuickAdd", () => {
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

  it("previews the parse and saves with one request id however often it is submitted", async () => {
    vi.useFakeTimers();
    const bodies: Record<string, unknown>[] = [];
    let release: () => void = () => {};
    const fetchMock = vi.fn(async (url: string, init: RequestInit) => {
      const body = JSON.parse(init.body as string) as Record<string, unknown>;
      if (url.endsWith("/v1/ml:parse")) {
        return new Response(
          JSON.stringify({
            amount: { currencyCode: "GBP", units: "3", nanos: 500000000 },
            merchant: "Starbucks",
            date: { year: 2025, month: 5, day: 1 },
            category: "dining",
            confidence: { category: 0.9 },
          }),
        );
      }
      bodies.push(body);
      await new Promise<void>((r) => (release = r)); // keep the save in flight
      return new Response(JSON.stringify({ id: "e1", description: "Latte at Starbucks", amount: { currencyCode: "GBP", units: "3", nanos: 500000000 } }));
    });
    const onAdded = vi.fn();
    render(
      <SessionContext.Provider value={session(fetchMock as unknown as typeof fetch)}>
        <QuickAdd onAdded={onAdded} />
      </SessionContext.Provider>,
    );
    const input = screen.getByTestId("quick-add");
    fireEvent.change(input, { target: { value: "Latte at Starbucks £3.50 yesterday" } });
    await act(async () => {
      await vi.advanceTimersByTimeAsync(300);
    });
    expect(screen.getByTestId("preview-amount").textContent).toBe("£3.50");
    expect(screen.getByTestId("preview-merchant").textContent).toContain("Starbucks");
    expect(screen.getByTestId("preview-category").textContent).toContain("Dining");

    // Enter twice (a double submit) while the first save is still in flight.
    fireEvent.submit(input.closest("form")!);
    fireEvent.submit(input.closest("form")!);
    await act(async () => {
      release();
      await vi.runAllTimersAsync();
    });
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({ text: "Latte at Starbucks £3.50 yesterday", locale: "en_GB" });
    expect(typeof bodies[0]!.requestId).toBe("string");
    expect(onAdded).toHaveBeenCalledOnce();
    vi.useRealTimers();
  });
});
