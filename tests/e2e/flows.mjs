// Browser end-to-end flows of the dashboard, driven by playwright-core against Debian's
// Chromium (no browser download). Run by tests/e2e/test_dashboard.py:
//
//   node tests/e2e/flows.mjs <config.json>
//
// config: {baseUrl, outDir, user, statementPath, expiredToken, chromium}
// Writes <outDir>/results.json: {flows: {<name>: {ok, error, steps, data, ms}}, pageErrors}
// and a screenshot of every page under <outDir>. Flows run in order; a flow whose
// prerequisite failed is reported as blocked, not run.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../frontend/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
mkdirSync(cfg.outDir, { recursive: true });
const LIVE_TIMEOUT = 30_000;
const results = { flows: {}, pageErrors: [], consoleErrors: [] };
const save = () => writeFileSync(join(cfg.outDir, "results.json"), JSON.stringify(results, null, 2));

const userDataDir = mkdtempSync(join(tmpdir(), "finmesh-e2e-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: cfg.chromium ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
  locale: "en-GB",
  timezoneId: "Europe/London",
  viewport: { width: 1280, height: 900 },
});
context.setDefaultTimeout(15_000);
const page = context.pages()[0] ?? (await context.newPage());
page.on("pageerror", (e) => results.pageErrors.push(String(e)));
page.on("console", (m) => {
  if (m.type() === "error") results.consoleErrors.push(m.text());
});

async function shot(name, opts = {}) {
  await page.screenshot({ path: join(cfg.outDir, `${name}.png`), fullPage: true, ...opts });
}

async function flow(name, needs, fn) {
  const r = { ok: false, steps: [], data: {}, error: null, ms: 0 };
  results.flows[name] = r;
  const blocked = needs.filter((n) => !results.flows[n]?.ok);
  if (blocked.length) {
    r.error = `blocked: needs ${blocked.join(", ")}`;
    save();
    return;
  }
  const t0 = Date.now();
  try {
    await fn({ step: (s) => r.steps.push(s), data: r.data });
    r.ok = true;
  } catch (e) {
    r.error = String(e?.stack ?? e);
    await shot(`${name}-failure`).catch(() => {});
  }
  r.ms = Date.now() - t0;
  save();
}

const go = async (hash) => {
  await page.evaluate((h) => (location.hash = h), hash);
  await page.waitForFunction((h) => location.hash.startsWith(h), hash);
};

/** The row of an expense by id. */
const row = (id) => page.locator(`tr[data-testid="expense-row"][data-id="${id}"]`);

async function quickAdd(text) {
  const input = page.getByTestId("quick-add");
  await input.fill(text);
  await page.getByTestId("preview-amount").waitFor();
  const preview = {
    amount: await page.getByTestId("preview-amount").innerText(),
    merchant: await page.getByTestId("preview-merchant").innerText(),
    date: await page.getByTestId("preview-date").innerText(),
    category: await page.getByTestId("preview-category").innerText(),
  };
  const before = new Set(await page.locator('tr[data-testid="expense-row"]').evaluateAll((rs) => rs.map((r) => r.dataset.id)));
  // Enter saves. Press it twice quickly: the request id makes the second a no-op.
  await input.press("Enter");
  await input.press("Enter").catch(() => {});
  await page.locator(".preview .note-ok").waitFor();
  const id = await page.waitForFunction(
    (known) => [...document.querySelectorAll('tr[data-testid="expense-row"]')].map((r) => r.dataset.id).find((x) => !known.includes(x)),
    [...before],
  ).then((h) => h.jsonValue());
  return { id, preview };
}

async function setCategory(id, category) {
  const select = row(id).locator("select");
  await select.selectOption(category);
  await page.waitForFunction(
    ([id, c]) => {
      const cell = document.querySelector(`tr[data-id="${id}"] [data-testid="category-cell"]`);
      return cell?.dataset.category === c && cell?.dataset.source === "user";
    },
    [id, category],
  );
}

try {
  await flow("sign_in", [], async ({ step, data }) => {
    await page.goto(cfg.baseUrl);
    await page.getByLabel("User id").waitFor();
    await shot("01-sign-in");
    step("sign-in page shown");
    await page.getByLabel("User id").fill(cfg.user);
    await page.getByLabel("User id").press("Enter");
    await page.getByTestId("user").filter({ hasText: cfg.user }).waitFor();
    step("signed in as the user");
    await page.waitForFunction(() => document.querySelector('[data-testid="live-status"]')?.dataset.status === "live", null, { timeout: LIVE_TIMEOUT });
    data.live = true;
    step("live feed connected");
    await page.getByText("No expenses this month yet").waitFor();
    step("empty state in plain words");
    await shot("02-expenses-empty");
  });

  await flow("quick_add", ["sign_in"], async ({ step, data }) => {
    const { id, preview } = await quickAdd(cfg.quickAddText);
    data.preview = preview;
    data.expenseId = id;
    step(`previewed ${JSON.stringify(preview)} and saved ${id}`);
    await shot("03-quick-add-saved");
    // Enrichment arrives over the WatchInsights stream: no reload, no navigation.
    await page.waitForFunction(
      (id) => {
        const r = document.querySelector(`tr[data-id="${id}"]`);
        const cell = r?.querySelector('[data-testid="category-cell"]');
        return r?.dataset.enrichment === "ENRICHMENT_STATE_ENRICHED" && cell?.dataset.category;
      },
      id,
      { timeout: LIVE_TIMEOUT },
    );
    const cell = row(id).getByTestId("category-cell");
    data.category = await cell.getAttribute("data-category");
    data.source = await cell.getAttribute("data-source");
    data.rowText = await row(id).innerText();
    data.rows = await page.locator('tr[data-testid="expense-row"]').count();
    step(`enriched live: ${data.category} (${data.source})`);
    await shot("04-expenses-enriched");
  });

  await flow("correct_category", ["quick_add"], async ({ step, data }) => {
    const id = results.flows.quick_add.data.expenseId;
    const current = results.flows.quick_add.data.category;
    const target = current === "entertainment" ? "shopping" : "entertainment";
    await setCategory(id, target);
    data.expenseId = id;
    data.category = target;
    data.badge = await row(id).locator(".badge").innerText();
    step(`changed ${current} → ${target}, badge "${data.badge}"`);
    await shot("05-category-corrected");
  });

  await flow("budget", ["correct_category"], async ({ step, data }) => {
    const category = results.flows.correct_category.data.category;
    data.category = category;
    await go("#/budgets");
    await page.getByText("No budgets for this month yet").waitFor();
    await shot("06-budgets-empty");
    await page.getByTestId("budget-category").selectOption(category);
    await page.getByTestId("budget-limit-input").fill("10.00");
    await page.getByTestId("budget-limit-input").press("Enter");
    const budget = page.locator(`li[data-testid="budget"][data-category="${category}"]`);
    await budget.waitFor();
    await page.waitForFunction((c) => document.querySelector(`li[data-category="${c}"] [role="progressbar"]`)?.getAttribute("aria-valuenow") === "35", category);
    data.before = { level: await budget.getAttribute("data-level"), text: await budget.innerText() };
    step(`budget set: ${data.before.level}`);
    await shot("07-budget-35");

    // Spend more in the category: quick add, then file it under the budget's category.
    await go("#/expenses");
    const { id } = await quickAdd("Cinema tickets £5 today");
    await page.waitForFunction((id) => document.querySelector(`tr[data-id="${id}"] select`), id, { timeout: LIVE_TIMEOUT });
    await setCategory(id, category);
    data.secondExpenseId = id;
    step("second expense filed under the budget's category");

    await go("#/budgets");
    await page.waitForFunction(
      (c) => document.querySelector(`li[data-category="${c}"]`)?.dataset.level === "warn",
      category,
      { timeout: LIVE_TIMEOUT },
    );
    data.after = {
      level: await budget.getAttribute("data-level"),
      percent: await budget.locator('[role="progressbar"]').getAttribute("aria-valuenow"),
      fill: await budget.locator(".progress-fill").evaluate((el) => getComputedStyle(el).backgroundColor),
      spent: await budget.getByTestId("budget-spent").innerText(),
      limit: await budget.getByTestId("budget-limit").innerText(),
    };
    step(`progress bar crossed 80%: ${JSON.stringify(data.after)}`);
    await shot("08-budget-85-amber");
  });

  /** Another tab (same user) changing something through the API, behind the page's back. */
  const otherTab = (method, path, body) =>
    page.evaluate(
      async ([method, path, body]) => {
        const { token } = JSON.parse(sessionStorage.getItem("finmesh.session"));
        const res = await fetch(path, {
          method,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: body ? JSON.stringify(body) : undefined,
        });
        return { status: res.status, body: await res.json() };
      },
      [method, path, body],
    );

  await flow("budget_conflict", ["budget"], async ({ step, data }) => {
    const category = results.flows.budget.data.category;
    const budget = page.locator(`li[data-testid="budget"][data-category="${category}"]`);
    await budget.getByRole("button", { name: "Change limit" }).click();
    await budget.getByLabel(/Limit for/).fill("12.00");
    const month = await page.evaluate(() => {
      const d = new Date();
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
    });
    const other = await otherTab("PATCH", `/v1/budgets/${month}/${category}?updateMask=limit`, {
      limit: { currencyCode: "GBP", units: "20", nanos: 0 },
    });
    data.otherStatus = other.status;
    step(`another tab set the limit to £20 (${other.status})`);
    if (other.status !== 200) throw new Error(`the other tab's update failed: ${JSON.stringify(other)}`);
    await budget.getByRole("button", { name: "Save" }).click();
    const conflict = budget.getByTestId("budget-conflict");
    await conflict.waitFor();
    data.conflictText = await conflict.innerText();
    step(`409 explained: ${data.conflictText}`);
    await shot("09-budget-conflict");
    await conflict.getByRole("button", { name: "Use my value" }).click();
    await conflict.waitFor({ state: "detached" });
    await page.waitForFunction((c) => document.querySelector(`li[data-category="${c}"] [data-testid="budget-limit"]`)?.textContent === "£12.00", category);
    data.finalLimit = await budget.getByTestId("budget-limit").innerText();
    step(`retried with the fresh etag: limit ${data.finalLimit}`);
  });

  await flow("edit_conflict", ["quick_add"], async ({ step, data }) => {
    await go("#/expenses");
    const id = results.flows.quick_add.data.expenseId;
    await row(id).waitFor();
    await row(id).getByRole("button", { name: "Edit" }).click();
    const form = page.getByRole("form", { name: "Edit expense" });
    await form.getByLabel("Description").fill("Oat latte at Starbucks");
    const other = await otherTab("PATCH", `/v1/expenses/${id}?updateMask=merchant`, { merchant: "Starbucks Reserve" });
    data.otherStatus = other.status;
    step(`another tab changed the merchant (${other.status})`);
    if (other.status !== 200) throw new Error(`the other tab's update failed: ${JSON.stringify(other)}`);
    await form.getByRole("button", { name: "Save" }).click();
    const note = form.getByRole("alert");
    await note.waitFor();
    data.conflictText = await note.innerText();
    step(`409 explained: ${data.conflictText}`);
    await shot("06-expense-edit-conflict");
    await form.getByRole("button", { name: "Save" }).click();
    await form.waitFor({ state: "detached" });
    data.rowText = await row(id).innerText();
    step(`saved again: ${data.rowText.replace(/\s+/g, " ")}`);
  });

  await flow("import", ["sign_in"], async ({ step, data }) => {
    await go("#/import");
    await page.getByTestId("dropzone").waitFor();
    await shot("09-import");
    await page.getByTestId("file-input").setInputFiles(cfg.statementPath);
    await page.getByTestId("import-result").waitFor({ timeout: 60_000 });
    const counts = async () => ({
      imported: Number(await page.getByTestId("imported-count").innerText()),
      duplicates: Number(await page.getByTestId("duplicate-count").innerText()),
      rejected: Number(await page.getByTestId("rejected-count").innerText()),
    });
    data.first = await counts();
    if (data.first.imported > 0) {
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="imported-row"]').length === n, data.first.imported);
    }
    data.rows = await page.getByTestId("imported-row").allInnerTexts();
    data.rejectedLines = (await page.getByTestId("rejected-lines").count()) ? await page.getByTestId("rejected-lines").locator("tbody tr").allInnerTexts() : [];
    step(`imported ${JSON.stringify(data.first)}`);
    await shot("10-import-result");

    await page.getByTestId("file-input").setInputFiles(cfg.statementPath);
    await page.waitForFunction(() => document.querySelector('[data-testid="duplicate-count"]')?.textContent !== "0", null, { timeout: 60_000 });
    data.second = await counts();
    step(`re-imported ${JSON.stringify(data.second)}`);
    await shot("11-import-again");
  });

  await flow("insights", ["sign_in"], async ({ step, data }) => {
    await go("#/insights");
    await page.getByTestId("total-spent").first().waitFor({ timeout: LIVE_TIMEOUT });
    // The summary follows new expenses without a reload (live events, then a refetch).
    await page
      .waitForFunction((t) => document.querySelector('[data-testid="total-spent"]')?.textContent === t, cfg.expectedTotal, { timeout: 45_000 })
      .catch(() => {});
    data.totalSpent = await page.getByTestId("total-spent").first().innerText();
    data.errors = await page.locator(".note-error").allInnerTexts();
    data.alerts = await page.getByTestId("alerts").locator("li").allInnerTexts();
    step(`summary shows ${data.totalSpent}; ${data.alerts.length} alerts`);
    await shot("12-insights");
  });

  await flow("search_filter_delete", ["import", "budget"], async ({ step, data }) => {
    await go("#/expenses");
    const category = results.flows.budget.data.category;
    await page.getByLabel("Filter by category").selectOption(category);
    await page.waitForFunction(
      (c) => {
        const cells = [...document.querySelectorAll('tr[data-testid="expense-row"] [data-testid="category-cell"]')];
        return cells.length > 0 && cells.every((x) => x.dataset.category === c);
      },
      category,
    );
    data.filtered = await page.locator('tr[data-testid="expense-row"]').count();
    step(`category filter ${category}: ${data.filtered} rows`);
    await page.getByLabel("Filter by category").selectOption("");

    await page.getByLabel("Search expenses").fill("thames");
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('tr[data-testid="expense-row"]')];
      return rows.length === 1 && /thames/i.test(rows[0].textContent);
    });
    step("search found the Thames Water bill");
    const target = page.locator('tr[data-testid="expense-row"]').first();
    data.deletedId = await target.getAttribute("data-id");
    await target.getByRole("button", { name: "Delete" }).click();
    await shot("17-delete-confirm");
    await target.getByRole("button", { name: "Delete" }).click(); // the confirmation
    await page.getByText("No expenses match these filters this month.").waitFor();
    step("deleted after confirmation; empty state shown");
    await page.getByLabel("Search expenses").fill("");
  });

  // Last of the expense flows: its USD expense changes no GBP total another flow checks.
  await flow("runners_up", ["sign_in"], async ({ step, data }) => {
    await go("#/expenses");
    const { id } = await quickAdd(cfg.suggestionText);
    data.expenseId = id;
    // A made-up merchant: the model is unsure, so the category is only suggested.
    await page.waitForFunction(
      (id) => document.querySelector(`tr[data-id="${id}"] [data-testid="category-cell"]`)?.dataset.source === "suggested",
      id,
      { timeout: LIVE_TIMEOUT },
    );
    data.suggested = await row(id).getByTestId("category-cell").getAttribute("data-category");
    const offered = row(id).getByTestId("runners-up").getByRole("button");
    await offered.first().waitFor();
    data.offered = await offered.evaluateAll((bs) => bs.map((b) => b.dataset.category));
    step(`suggested ${data.suggested}; offered ${data.offered.join(", ")}`);
    await shot("19-runners-up");
    data.chosen = data.offered[0];
    await offered.first().click();
    await page.waitForFunction(
      ([id, c]) => {
        const cell = document.querySelector(`tr[data-id="${id}"] [data-testid="category-cell"]`);
        return cell?.dataset.category === c && cell?.dataset.source === "user";
      },
      [id, data.chosen],
    );
    data.runnersUpAfter = await row(id).getByTestId("runners-up").count();
    step(`filed under ${data.chosen} in one click`);
  });

  await flow("phone", ["sign_in"], async ({ step, data }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [hash, name] of [["#/expenses", "13-phone-expenses"], ["#/budgets", "14-phone-budgets"], ["#/insights", "15-phone-insights"], ["#/import", "16-phone-import"]]) {
      await go(hash);
      await page.waitForTimeout(300);
      await shot(name);
    }
    // Nothing may overflow sideways at phone width.
    data.overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    await go("#/expenses");
    await page.waitForTimeout(300);
    data.overflowExpenses = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    step(`overflow ${data.overflow}px / ${data.overflowExpenses}px`);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await flow("keyboard", ["sign_in"], async ({ step, data }) => {
    await go("#/expenses");
    // Tab from the top of a freshly loaded page reaches the nav links; Enter follows one.
    await page.reload();
    await page.getByTestId("user").waitFor();
    const seen = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Tab");
      seen.push(await page.evaluate(() => document.activeElement?.textContent?.trim() || document.activeElement?.getAttribute("aria-label") || document.activeElement?.tagName));
      if (seen.at(-1) === "Budgets") break;
    }
    data.focusOrder = seen;
    if (seen.at(-1) !== "Budgets") throw new Error(`Tab never reached Budgets: ${seen.join(" → ")}`);
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => location.hash.startsWith("#/budgets"));
    step(`reached Budgets by keyboard: ${seen.join(" → ")}`);
  });

  await flow("expired_session", ["sign_in"], async ({ step, data }) => {
    await page.evaluate(([u, t]) => sessionStorage.setItem("finmesh.session", JSON.stringify({ user: u, token: t })), [cfg.user, cfg.expiredToken]);
    await page.reload();
    await page.getByLabel("User id").waitFor({ timeout: LIVE_TIMEOUT });
    data.notice = await page.locator(".signin .note").first().innerText();
    step(`401 sent the user back to sign-in: "${data.notice}"`);
    await shot("18-session-ended");
  });
} finally {
  save();
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
