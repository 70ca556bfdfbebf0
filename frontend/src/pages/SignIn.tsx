// Sign-in for the local stack: a user id exchanged for a token at the dev-only endpoint,
// or a pasted token (from `finmesh token --user <id>`).
import { useState, type FormEvent } from "react";
import type { AppConfig, StoredSession } from "../lib/config";
import { tokenSubject } from "../lib/config";

const RECENT_KEY = "finmesh.recentUsers";

function recentUsers(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(RECENT_KEY) ?? "[]") as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string").slice(0, 5) : [];
  } catch {
    return [];
  }
}

function rememberUser(user: string) {
  localStorage.setItem(RECENT_KEY, JSON.stringify([user, ...recentUsers().filter((u) => u !== user)].slice(0, 5)));
}

export function SignIn({ config, notice, onSignedIn }: { config: AppConfig; notice?: string; onSignedIn: (s: StoredSession) => void }) {
  const [user, setUser] = useState(recentUsers()[0] ?? "");
  const [token, setToken] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const recent = recentUsers();

  async function signIn(ev: FormEvent) {
    ev.preventDefault();
    const id = user.trim();
    if (!id) {
      setError("Enter a user id, e.g. alice.");
      return;
    }
    setBusy(true);
    setError("");
    try {
      const res = await fetch("/dev/token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user: id }),
      });
      if (res.status === 404) {
        setError("Dev sign-in is switched off on this server. Paste a token below instead.");
        return;
      }
      const body = (await res.json().catch(() => ({}))) as { token?: string; error?: string };
      if (!res.ok || !body.token) {
        setError(body.error ?? `Sign-in failed (${res.status}).`);
        return;
      }
      rememberUser(id);
      onSignedIn({ user: id, token: body.token });
    } catch {
      setError("Can't reach the server that serves this page. Is the stack running (make up)?");
    } finally {
      setBusy(false);
    }
  }

  function useToken(ev: FormEvent) {
    ev.preventDefault();
    const t = token.trim().replace(/^Bearer\s+/i, "");
    const sub = tokenSubject(t);
    if (!sub) {
      setError("That doesn't look like a finmesh token. Copy the whole output of finmesh token --user <id>.");
      return;
    }
    onSignedIn({ user: sub, token: t });
  }

  return (
    <main className="signin" id="main">
      <div className="card signin-card">
        <h1>
          <span className="logo" aria-hidden="true">◆</span> finmesh
        </h1>
        <p className="muted">Your spending, sorted.</p>
        {notice && (
          <div className="note note-warn" role="status">
            {notice}
          </div>
        )}
        {config.devTokens ? (
          <form onSubmit={signIn} className="stack">
            <label htmlFor="user">User id</label>
            <input
              id="user"
              name="user"
              autoFocus
              autoComplete="username"
              list="recent-users"
              value={user}
              onChange={(e) => setUser(e.target.value)}
              placeholder="e.g. alice"
              maxLength={64}
            />
            <datalist id="recent-users">
              {recent.map((u) => (
                <option key={u} value={u} />
              ))}
            </datalist>
            <button type="submit" className="primary" disabled={busy}>
              {busy ? "Signing in…" : "Sign in"}
            </button>
            <p className="muted small">
              Local development sign-in: any user id works, no password. It is only enabled when the stack runs with
              FINMESH_DEV_TOKENS=1 (make up does this).
            </p>
          </form>
        ) : (
          <p className="muted">Dev sign-in is off on this server. Paste a token to continue.</p>
        )}
        <details open={!config.devTokens}>
          <summary>Use a token instead</summary>
          <form onSubmit={useToken} className="stack">
            <label htmlFor="token">Token (from .venv/bin/finmesh token --user alice)</label>
            <textarea id="token" rows={3} value={token} onChange={(e) => setToken(e.target.value)} spellCheck={false} />
            <button type="submit">Use token</button>
          </form>
        </details>
        {error && (
          <div className="note note-error" role="alert">
            {error}
          </div>
        )}
      </div>
    </main>
  );
}
