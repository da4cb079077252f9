// What the learner sees when a request fails: the API's error envelope
// ({error, code, details}) turned into one ApiError with a message that says what to do,
// and the per-field messages forms show next to their fields.

export interface ErrorEnvelope {
  error: string;
  code: string;
  details?: unknown;
}

/** Messages per field, keyed by the field's camelCase name ("fields.0" for nested ones). */
export type FieldErrors = Record<string, string[]>;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fieldErrors: FieldErrors;
  readonly retryAfterSeconds: number | null;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    fieldErrors?: FieldErrors;
    retryAfterSeconds?: number | null;
  }) {
    super(init.message);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.fieldErrors = init.fieldErrors ?? {};
    this.retryAfterSeconds = init.retryAfterSeconds ?? null;
  }

  /** The messages for one form field, joined, or undefined when that field is fine. */
  field(name: string): string | undefined {
    const messages = this.fieldErrors[name];
    return messages && messages.length > 0 ? messages.join(' ') : undefined;
  }

  /** Messages not tied to a field the form shows (DRF's nonFieldErrors among them). */
  otherMessages(shownFields: readonly string[]): string[] {
    return Object.entries(this.fieldErrors)
      .filter(([name]) => !shownFields.includes(name))
      .flatMap(([, messages]) => messages);
  }
}

export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError;
}

/** Flatten the envelope's details into field -> messages; nested keys join with dots. */
export function flattenDetails(details: unknown, prefix = ''): FieldErrors {
  const out: FieldErrors = {};
  const add = (key: string, message: string) => {
    (out[key] ??= []).push(message);
  };
  const walk = (value: unknown, key: string) => {
    if (typeof value === 'string') add(key || 'nonFieldErrors', value);
    else if (Array.isArray(value))
      value.forEach((item, index) => walk(item, typeof item === 'string' ? key : join(key, String(index))));
    else if (value && typeof value === 'object') {
      for (const [name, inner] of Object.entries(value)) walk(inner, join(key, name));
    }
  };
  walk(details, prefix);
  return out;
}

function join(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

/** Retry-After is either seconds or an HTTP date. */
export function parseRetryAfter(header: string | null, nowMs: number): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - nowMs) / 1000));
}

export function waitPhrase(seconds: number): string {
  if (seconds < 60) return seconds === 1 ? '1 second' : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes <= 90) return minutes === 1 ? '1 minute' : `${minutes} minutes`;
  const hours = Math.ceil(minutes / 60);
  return hours === 1 ? '1 hour' : `${hours} hours`;
}

/** The learner-facing message: the API's own words, except where a status needs advice. */
export function friendlyMessage(status: number, envelope: ErrorEnvelope | null, retryAfter: number | null): string {
  const wait = retryAfter !== null ? waitPhrase(retryAfter) : null;
  if (status === 429) {
    return wait
      ? `Too many attempts. Please wait ${wait} and try again.`
      : 'Too many attempts. Please wait a little and try again.';
  }
  if (status === 503) {
    const when = wait ? `in ${wait}` : 'in a moment';
    return `Javumbo can't reach its storage right now, so nothing was changed. Please try again ${when}.`;
  }
  if (status === 0) return "Javumbo can't be reached. Check your connection and try again.";
  if (status >= 500) return 'Something went wrong on our side; nothing was changed. Please try again.';
  return envelope?.error || `The request failed (HTTP ${status}).`;
}

export function asEnvelope(body: unknown): ErrorEnvelope | null {
  if (!body || typeof body !== 'object') return null;
  const candidate = body as Record<string, unknown>;
  if (typeof candidate.error !== 'string' || typeof candidate.code !== 'string') return null;
  return { error: candidate.error, code: candidate.code, details: candidate.details };
}

export function apiErrorFrom(status: number, body: unknown, retryAfterHeader: string | null, nowMs: number): ApiError {
  const envelope = asEnvelope(body);
  const retryAfter = parseRetryAfter(retryAfterHeader, nowMs);
  return new ApiError({
    status,
    code: envelope?.code ?? (status === 0 ? 'network' : `http_${status}`),
    message: friendlyMessage(status, envelope, retryAfter),
    fieldErrors: envelope?.details ? flattenDetails(envelope.details) : {},
    retryAfterSeconds: retryAfter,
  });
}

export function networkError(): ApiError {
  return apiErrorFrom(0, null, null, Date.now());
}
