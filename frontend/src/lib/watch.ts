// The live feed: GET /v1/insights:watch, read incrementally, reconnecting with backoff.
import type { WatchInsightsResponseJson } from "@gen/finance/insight/v1/insight_service_pb";
import { ApiError, type Api } from "./api";
import { readJsonStream } from "./stream";

export type WatchEvent = WatchInsightsResponseJson;

/** `live`: connected; `connecting`/`retrying`: not yet/again; `unavailable`: not implemented. */
export type WatchStatus = "connecting" | "live" | "retrying" | "unavailable";

export interface WatchOptions {
  onEvent: (e: WatchEvent) => void;
  onStatus: (s: WatchStatus) => void;
  /** Called after a (re)connect so views can refetch what they may have missed. */
  onReconnect?: () => void;
  signal: AbortSignal;
  /** Delays in ms between attempts; the last one repeats. */
  backoffMs?: number[];
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });

/** Runs until `signal` aborts. Never throws. */
export async function watchInsights(api: Api, opts: WatchOptions): Promise<void> {
  const backoff = opts.backoffMs ?? [500, 1000, 2000, 5000, 10000];
  let attempt = 0;
  let connectedBefore = false;
  while (!opts.signal.aborted) {
    opts.onStatus(attempt === 0 ? "connecting" : "retrying");
    try {
      const res = await api.fetch("GET", "/v1/insights:watch", { signal: opts.signal });
      opts.onStatus("live");
      if (connectedBefore) opts.onReconnect?.();
      connectedBefore = true;
      attempt = 0;
      await readJsonStream(res, (o) => opts.onEvent(o as WatchEvent));
    } catch (e) {
      if (opts.signal.aborted) return;
      if (e instanceof ApiError && e.status === 401) return; // the app signs the user out
      if (e instanceof ApiError && e.status === 501) {
        opts.onStatus("unavailable");
        await sleep(30_000, opts.signal);
        continue;
      }
    }
    if (opts.signal.aborted) return;
    opts.onStatus("retrying");
    await sleep(backoff[Math.min(attempt, backoff.length - 1)]!, opts.signal);
    attempt++;
  }
}
