// The dashboard: sign-in, then a shell with the four pages and the live feed.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Api, type CategoryJson } from "./lib/api";
import { loadConfig, loadSession, saveSession, type AppConfig, type StoredSession } from "./lib/config";
import { currentMonth, isMonth, monthLabel, shiftMonth } from "./lib/dates";
import { SessionContext, TAXONOMY, type Session } from "./lib/session";
import { watchInsights, type WatchEvent, type WatchStatus } from "./lib/watch";
import { SignIn } from "./pages/SignIn";
import { ExpensesPage } from "./pages/Expenses";
import { BudgetsPage } from "./pages/Budgets";
import { InsightsPage } from "./pages/Insights";
import { ImportPage } from "./pages/Import";
import { Spinner } from "./components/ui";

const PAGES = [
  { id: "expenses", title: "Expenses" },
  { id: "budgets", title: "Budgets" },
  { id: "insights", title: "Insights" },
  { id: "import", title: "Import" },
] as const;
type PageId = (typeof PAGES)[number]["id"];

function pageFromHash(): PageId {
  const id = location.hash.replace(/^#\/?/, "").split("?")[0];
  return (PAGES.find((p) => p.id === id)?.id ?? "expenses") as PageId;
}

export function App() {
  const [config, setConfig] = useState<AppConfig | null>(null);
  const [session, setSession] = useState<StoredSession | null>(() => loadSession());
  const [notice, setNotice] = useState("");

  useEffect(() => {
    void loadConfig().then(setConfig);
  }, []);

  const signOut = useCallback((why = "") => {
    saveSession(null);
    setSession(null);
    setNotice(why);
  }, []);

  if (!config) {
    return (
      <div className="center">
        <Spinner /> Loading finmesh…
      </div>
    );
  }
  if (!session) {
    return (
      <SignIn
        config={config}
        notice={notice}
        onSignedIn={(s) => {
          saveSession(s);
          setNotice("");
          setSession(s);
        }}
      />
    );
  }
  return <Shell key={session.token} config={config} session={session} signOut={signOut} />;
}

function Shell({ config, session, signOut }: { config: AppConfig; session: StoredSession; signOut: (why?: string) => void }) {
  const locale = navigator.language || "en-GB";
  const api = useMemo(
    () => new Api(config.apiBaseUrl, session.token, () => signOut("Your session has ended. Please sign in again.")),
    [config.apiBaseUrl, session.token, signOut],
  );
  const [page, setPage] = useState<PageId>(pageFromHash);
  const [month, setMonthState] = useState(() => {
    const m = new URLSearchParams(location.hash.split("?")[1] ?? "").get("month") ?? "";
    return isMonth(m) ? m : currentMonth();
  });
  const [categories, setCategories] = useState<CategoryJson[]>(TAXONOMY);
  const [watchStatus, setWatchStatus] = useState<WatchStatus>("connecting");
  const listeners = useRef(new Set<(e: WatchEvent) => void>());
  const reconnectListeners = useRef(new Set<() => void>());

  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  useEffect(() => {
    document.title = `${PAGES.find((p) => p.id === page)?.title} · finmesh`;
  }, [page]);

  useEffect(() => {
    api
      .listCategories()
      .then((r) => {
        if (r.categories?.length) setCategories(r.categories);
      })
      .catch(() => {
        /* keep the built-in taxonomy */
      });
  }, [api]);

  useEffect(() => {
    const ctrl = new AbortController();
    void watchInsights(api, {
      signal: ctrl.signal,
      onStatus: setWatchStatus,
      onEvent: (e) => listeners.current.forEach((fn) => fn(e)),
      onReconnect: () => reconnectListeners.current.forEach((fn) => fn()),
    });
    return () => ctrl.abort();
  }, [api]);

  const subscribe = useCallback((fn: (e: WatchEvent) => void) => {
    listeners.current.add(fn);
    return () => void listeners.current.delete(fn);
  }, []);
  const onReconnect = useCallback((fn: () => void) => {
    reconnectListeners.current.add(fn);
    return () => void reconnectListeners.current.delete(fn);
  }, []);

  const setMonth = useCallback((m: string) => {
    setMonthState(m);
    history.replaceState(null, "", `#/${pageFromHash()}?month=${m}`);
  }, []);

  const ctx: Session = { api, user: session.user, locale, month, setMonth, categories, watchStatus, subscribe, onReconnect };

  const statusText: Record<WatchStatus, string> = {
    connecting: "Connecting…",
    live: "Live",
    retrying: "Reconnecting…",
    unavailable: "Live updates unavailable",
  };

  return (
    <SessionContext.Provider value={ctx}>
      <a href="#main" className="skip" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden="true">◆</span> finmesh
        </div>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a key={p.id} href={`#/${p.id}?month=${month}`} aria-current={page === p.id ? "page" : undefined}>
              {p.title}
            </a>
          ))}
        </nav>
        <div className="month-picker" role="group" aria-label="Month">
          <button type="button" aria-label="Previous month" onClick={() => setMonth(shiftMonth(month, -1))}>
            ‹
          </button>
          <span className="month-label" data-testid="month">{monthLabel(month, locale)}</span>
          <button type="button" aria-label="Next month" onClick={() => setMonth(shiftMonth(month, 1))}>
            ›
          </button>
        </div>
        <div className="who">
          <span className={`live live-${watchStatus}`} title={statusText[watchStatus]} data-testid="live-status" data-status={watchStatus}>
            <span className="dot" aria-hidden="true" /> <span className="live-text">{statusText[watchStatus]}</span>
          </span>
          <span className="user" data-testid="user">{session.user}</span>
          <button type="button" className="link" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page === "expenses" && <ExpensesPage />}
        {page === "budgets" && <BudgetsPage />}
        {page === "insights" && <InsightsPage />}
        {page === "import" && <ImportPage />}
      </main>
    </SessionContext.Provider>
  );
}
