// How failures and outcomes are shown: the API's message (with its advice for 429/503),
// and, in forms, each field's own messages under the field.

import { useId, type ReactElement, type ReactNode } from 'react';

import { isApiError } from '../api';

export function fieldError(error: unknown, ...names: string[]): string | undefined {
  if (!isApiError(error)) return undefined;
  const messages = names.map((name) => error.field(name)).filter(Boolean);
  return messages.length > 0 ? messages.join(' ') : undefined;
}

function errorText(error: unknown): string {
  if (isApiError(error)) return error.message;
  return 'Something went wrong in this page. Reload it and try again.';
}

/** The error of a request, plus field messages no field on the form shows. */
export function ErrorBanner({
  error,
  shownFields = [],
  onRetry,
}: {
  error: unknown;
  shownFields?: readonly string[];
  onRetry?: () => void;
}) {
  if (!error) return null;
  const extra = isApiError(error) ? error.otherMessages(shownFields) : [];
  return (
    <div className="banner banner-error" role="alert">
      <p>{errorText(error)}</p>
      {extra.length > 0 && (
        <ul>
          {extra.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      )}
      {onRetry && (
        <button type="button" className="secondary" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <div className="banner banner-ok" role="status">
      {children}
    </div>
  );
}

/** A labelled control with its hint and its error; `render` receives the ids to wire up. */
export function Field({
  label,
  error,
  hint,
  render,
}: {
  label: string;
  error?: string;
  hint?: ReactNode;
  render: (props: { id: string; 'aria-invalid': boolean; 'aria-describedby': string | undefined }) => ReactElement;
}) {
  const id = useId();
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div className={error ? 'field field-invalid' : 'field'}>
      <label htmlFor={id}>{label}</label>
      {render({ id, 'aria-invalid': Boolean(error), 'aria-describedby': described || undefined })}
      {hint && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} className="field-error">
          {error}
        </small>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" aria-live="polite">
      Loading {what}…
    </p>
  );
}
