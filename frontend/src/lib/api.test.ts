import { describe, expect, it, vi } from "vitest";
import { Api, ApiError, describeError } from "./api";

const badRequest = JSON.stringify({
  code: 3,
  message: "invalid expense",
  details: [
    { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "INVALID_ARGUMENT", domain: "finmesh" },
    {
      "@type": "type.googleapis.com/google.rpc.BadRequest",
      fieldViolations: [{ field: "expense.amount", description: "must be positive" }],
    },
  ],
});

describe("ApiError", () => {
  it("reads google.rpc details from the JSON body", () => {
    const e = ApiError.fromBody(400, badRequest);
    expect(e.reason).toBe("INVALID_ARGUMENT");
    expect(e.violation("amount")).toBe("must be positive");
    expect(describeError(e)).toBe("Amount: must be positive");
  });

  it("explains statuses in plain words", () => {
    expect(describeError(new ApiError(501, "not implemented"), "forecast the month")).toMatch(/isn't available yet.*forecast the month/);
    expect(describeError(new ApiError(409, "stale etag"))).toMatch(/changed this at the same time/);
    expect(describeError(new ApiError(0, "Failed to fetch"))).toMatch(/Can't reach/);
    expect(describeError(ApiError.fromBody(503, "upstream connect error"))).toMatch(/not responding/);
  });
});

describe("Api", () => {
  it("sends the bearer token and JSON, and builds query strings", async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ id: "e1" }), { status: 200 }));
    const api = new Api("http://edge:8080/", "tok", () => {}, fetchMock as unknown as typeof fetch);
    await api.updateExpense({ id: "e1", category: "dining", etag: "W/1" }, ["category"]);
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("http://edge:8080/v1/expenses/e1?updateMask=category");
    expect(init.method).toBe("PATCH");
    expect((init.headers as Record<string, string>).authorization).toBe("Bearer tok");
    expect(JSON.parse(init.body as string)).toEqual({ id: "e1", category: "dining", etag: "W/1" });
  });

  it("signals a 401 so the app can send the user to sign-in", async () => {
    const onUnauth = vi.fn();
    const fetchMock = vi.fn(async () => new Response('{"code":16,"message":"Jwt is expired"}', { status: 401 }));
    const api = new Api("http://edge", "tok", onUnauth, fetchMock as unknown as typeof fetch);
    await expect(api.listBudgets("2025-05")).rejects.toMatchObject({ status: 401 });
    expect(onUnauth).toHaveBeenCalledOnce();
  });

  it("turns a network failure into status 0", async () => {
    const api = new Api("http://edge", "tok", () => {}, (async () => {
      throw new TypeError("Failed to fetch");
    }) as unknown as typeof fetch);
    await expect(api.listCategories()).rejects.toMatchObject({ status: 0 });
  });
});
