// Runtime configuration from the server that serves the app (finmesh.devserver's
// /config.json), so one build works against any stack.
export interface AppConfig {
  /** Where the JSON API is: this origin (forwarded to Envoy by the server) or an edge URL. */
  apiBaseUrl: string;
  /** Whether POST /dev/token is enabled (local dev only). */
  devTokens: boolean;
}

export async function loadConfig(): Promise<AppConfig> {
  const fallback: AppConfig = { apiBaseUrl: location.origin, devTokens: false };
  try {
    const res = await fetch("/config.json", { cache: "no-store" });
    if (!res.ok) return fallback;
    const c = (await res.json()) as Partial<AppConfig>;
    return { apiBaseUrl: c.apiBaseUrl || fallback.apiBaseUrl, devTokens: Boolean(c.devTokens) };
  } catch {
    return fallback;
  }
}

const KEY = "finmesh.session";

export interface StoredSession {
  user: string;
  token: string;
}

/** The token lives for the browser tab's session only (sessionStorage). */
export function loadSession(): StoredSession | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? "null") as StoredSession | null;
    return s?.token && s.user ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(s: StoredSession | null): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

/** The `sub` claim of a JWT, without verifying it (the server does that). */
export function tokenSubject(token: string): string | null {
  try {
    const part = token.split(".")[1];
    if (!part) return null;
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === "string" && sub ? sub : null;
  } catch {
    return null;
  }
}
