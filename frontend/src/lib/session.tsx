// What every page needs: the API client, the signed-in user, the chosen month, the
// categories and the live feed. Provided once by <Shell>.
import { createContext, useContext, useEffect, useRef } from "react";
import type { Api, CategoryJson } from "./api";
import type { WatchEvent, WatchStatus } from "./watch";

export interface Session {
  api: Api;
  user: string;
  /** BCP 47 tag of the browser ("en-GB"), for Intl. */
  locale: string;
  month: string;
  setMonth: (m: string) => void;
  categories: CategoryJson[];
  watchStatus: WatchStatus;
  /** Subscribes to live events; returns the unsubscribe function. */
  subscribe: (fn: (e: WatchEvent) => void) => () => void;
  /** Subscribes to "the feed reconnected, refetch": returns the unsubscribe function. */
  onReconnect: (fn: () => void) => () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside <SessionContext.Provider>");
  return s;
}

/** Calls `fn` for each live event while the component is mounted (latest `fn` wins). */
export function useLiveEvents(fn: (e: WatchEvent) => void): void {
  const { subscribe } = useSession();
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => subscribe((e) => ref.current(e)), [subscribe]);
}

/** Calls `fn` when the live feed reconnects (events may have been missed). */
export function useOnReconnect(fn: () => void): void {
  const { onReconnect } = useSession();
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => onReconnect(() => ref.current()), [onReconnect]);
}

/** The display name of a category id. */
export function categoryName(categories: CategoryJson[], id: string | undefined): string {
  if (!id) return "Uncategorised";
  const c = categories.find((x) => x.id === id);
  if (c?.displayName) return c.displayName;
  return humanize(id);
}

export function humanize(id: string): string {
  const s = id.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The fixed taxonomy, used until /v1/categories answers (or if it cannot). */
export const TAXONOMY = [
  "groceries", "dining", "transport", "travel", "shopping", "subscriptions", "utilities",
  "housing", "health", "entertainment", "personal_care", "education", "insurance", "fees",
  "income", "transfers", "gifts_donations", "other",
].map((id) => ({ id, displayName: id === "gifts_donations" ? "Gifts & donations" : humanize(id) }));
