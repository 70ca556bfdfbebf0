// Small building blocks shared by the pages.
import type { ReactNode } from "react";
import type { MoneyJson } from "@gen/google/type/money_pb";
import { describeError } from "../lib/api";
import { formatMoney } from "../lib/money";

export function Spinner({ label = "Loading" }: { label?: string }) {
  return <span className="spinner" role="status" aria-label={label} />;
}

export function Money({ value, locale, sign }: { value: MoneyJson | undefined; locale: string; sign?: "-" | "+" | "" }) {
  return <span className="money">{formatMoney(value, { locale, sign })}</span>;
}

/** An error in plain words, with an optional retry button. */
export function ErrorNote({ error, what, onRetry }: { error: unknown; what?: string; onRetry?: () => void }) {
  return (
    <div className="note note-error" role="alert">
      <span>{describeError(error, what)}</span>
      {onRetry && (
        <button type="button" className="link" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** Budget use: green below 80%, amber from 80%, red from 100%. */
export function progressLevel(percent: number): "ok" | "warn" | "over" {
  if (percent >= 100) return "over";
  if (percent >= 80) return "warn";
  return "ok";
}

export function ProgressBar({ percent, label }: { percent: number; label: string }) {
  const level = progressLevel(percent);
  const shown = Math.max(0, Math.min(100, percent));
  return (
    <div
      className={`progress progress-${level}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(percent)}
      aria-valuetext={`${percent.toFixed(0)}% used`}
      data-level={level}
    >
      <div className="progress-fill" style={{ width: `${shown}%` }} />
    </div>
  );
}

export function Section({ title, children, actions, id }: { title: string; children: ReactNode; actions?: ReactNode; id?: string }) {
  return (
    <section className="card" aria-labelledby={id ? `${id}-title` : undefined} id={id}>
      <header className="card-head">
        <h2 id={id ? `${id}-title` : undefined}>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}
