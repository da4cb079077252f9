// The one way the app talks to Javumbo's API. Every request:
// - carries the access token, refreshed first when it is about to expire, and once more
//   (then retried once) when the API answers 401 — one refresh at a time for the whole tab;
// - carries this tab's X-Session-ID (sessionStorage) and keeps the one the API answers;
// - when mutating, carries an Idempotency-Key reused by its retries, so a retry never
//   applies a change twice;
// - is retried with backoff on a 409 `conflict` (another device committed at the same
//   moment), so the learner only sees a conflict that persists;
// - fails with an ApiError whose message says what to do (429 and 503 included).

import { ApiError, apiErrorFrom, asEnvelope, networkError } from './errors';
import { jwtExpiresAt, type TokenStore, type Tokens } from './tokens';
import { NetworkFailure, type OutgoingRequest, type RawResponse, type Transport } from './transport';

export const SESSION_HEADER = 'X-Session-ID';
const SESSION_KEY = 'javumbo.sessionId';
/** Refresh this long before the access token's expiry, to absorb clock skew and latency. */
export const REFRESH_MARGIN_MS = 60_000;
/** 409 conflicts are retried this many times, after these waits (plus jitter). */
export const CONFLICT_RETRY_DELAYS_MS = [250, 500, 1000] as const;
/** The 409 the storage engine answers when another device committed at the same moment
 * (nothing was changed). Other 409s state a fact (deck_exists, nothing_to_undo,
 * not_in_queue, username_taken...): trying again cannot change the answer. */
const TRANSIENT_CONFLICTS = new Set(['conflict']);
/** A request that got no answer at all is sent again after these waits. */
export const NETWORK_RETRY_DELAYS_MS = [500, 1500] as const;
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  query?: Query;
  json?: unknown;
  body?: BodyInit;
  /** false for the public routes (register, login, refresh). */
  auth?: boolean;
  /** Another transport for this request (uploads use XMLHttpRequest). */
  transport?: Transport;
  onUploadProgress?: (loaded: number, total: number) => void;
  /** What the answer may be; downloads take anything (default: JSON). */
  accept?: string;
}

export type SignOutReason = 'signed_out' | 'expired' | 'deleted';

export interface ClientOptions {
  transport: Transport;
  tokens: TokenStore;
  tabStorage: Storage | null;
  baseUrl?: string;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
  newIdempotencyKey?: () => string;
  onSignedOut?: (reason: SignOutReason) => void;
  /** Told after every successful mutating request (the session indicator re-reads). */
  onChange?: () => void;
}

interface SignedInBody {
  accessToken: string;
  refreshToken: string;
}

export class ApiClient {
  readonly tokens: TokenStore;
  private readonly options: ClientOptions;
  private refreshing: Promise<void> | null = null;

  constructor(options: ClientOptions) {
    this.options = options;
    this.tokens = options.tokens;
  }

  get signedIn(): boolean {
    return this.tokens.get() !== null;
  }

  /** The parsed JSON answer (undefined for 204). */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The answer itself, for downloads whose body may be a file or JSON. */
  async raw(method: string, path: string, options: RequestOptions = {}): Promise<RawResponse> {
    return this.send(method, path, options);
  }

  /** Keep the tokens of a login, refresh or password change answer. */
  adoptSignIn(body: SignedInBody): void {
    this.tokens.set({ access: body.accessToken, refresh: body.refreshToken });
  }

  signOut(reason: SignOutReason = 'signed_out'): void {
    const wasSignedIn = this.tokens.get() !== null;
    this.tokens.set(null);
    this.setSessionId(null);
    if (wasSignedIn) this.options.onSignedOut?.(reason);
  }

  sessionId(): string | null {
    try {
      return this.options.tabStorage?.getItem(SESSION_KEY) ?? null;
    } catch {
      return null;
    }
  }

  setSessionId(id: string | null): void {
    try {
      if (id) this.options.tabStorage?.setItem(SESSION_KEY, id);
      else this.options.tabStorage?.removeItem(SESSION_KEY);
    } catch {
      // Without sessionStorage the API still answers; it just picks the live session.
    }
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<RawResponse> {
    const auth = options.auth ?? true;
    const key = auth && MUTATING.has(method) ? this.newKey() : undefined;
    let refreshedAfter401 = false;
    let conflicts = 0;
    for (;;) {
      if (auth) await this.ensureFreshAccess();
      const sentAccess = this.tokens.get()?.access;
      const response = await this.attempt(method, path, options, auth, key);
      if (response.status === 401 && auth && !refreshedAfter401 && sentAccess) {
        refreshedAfter401 = true;
        await this.renewAfterRejection(sentAccess);
        continue;
      }
      if (response.status < 400) {
        if (key) this.options.onChange?.();
        return response;
      }
      const body = await readBody(response);
      if (response.status === 409 && conflicts < CONFLICT_RETRY_DELAYS_MS.length && isTransientConflict(body)) {
        await this.sleep(this.conflictDelay(conflicts++));
        continue;
      }
      if (response.status === 401 && auth) this.signOut('expired');
      throw apiErrorFrom(response.status, body, response.header('Retry-After'), this.now());
    }
  }

  private async attempt(
    method: string,
    path: string,
    options: RequestOptions,
    auth: boolean,
    key: string | undefined,
  ): Promise<RawResponse> {
    const transport = options.transport ?? this.options.transport;
    const request = {
      method,
      url: this.url(path, options.query),
      headers: this.headers(options, auth, key),
      body: options.json !== undefined ? JSON.stringify(options.json) : (options.body ?? null),
      onUploadProgress: options.onUploadProgress,
    };
    const response = await this.deliver(transport, request);
    const session = response.header(SESSION_HEADER);
    if (session && auth && response.status !== 401) this.setSessionId(session);
    return response;
  }

  /** A lost connection is tried again (same Idempotency-Key, so a change the API did
   * receive is not applied twice); uploads are not, they would resend the whole file. */
  private async deliver(transport: Transport, request: OutgoingRequest): Promise<RawResponse> {
    const tries = request.onUploadProgress ? 1 : NETWORK_RETRY_DELAYS_MS.length + 1;
    for (let tried = 0; ; tried++) {
      try {
        return await transport(request);
      } catch (error) {
        if (!(error instanceof NetworkFailure)) throw error;
        if (tried + 1 >= tries) throw networkError();
        await this.sleep(NETWORK_RETRY_DELAYS_MS[tried] ?? 1000);
      }
    }
  }

  private headers(options: RequestOptions, auth: boolean, key: string | undefined): Record<string, string> {
    const headers: Record<string, string> = { Accept: options.accept ?? 'application/json' };
    if (options.json !== undefined) headers['Content-Type'] = 'application/json';
    const tokens = this.tokens.get();
    if (auth && tokens) headers.Authorization = `Bearer ${tokens.access}`;
    const session = this.sessionId();
    if (session) headers[SESSION_HEADER] = session;
    if (key) headers['Idempotency-Key'] = key;
    return headers;
  }

  private url(path: string, query?: Query): string {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
    }
    const search = params.toString();
    return `${this.options.baseUrl ?? ''}${path}${search ? `?${search}` : ''}`;
  }

  private async ensureFreshAccess(): Promise<void> {
    const held = this.tokens.get();
    if (!held || !this.expiresSoon(held)) return;
    this.tokens.adoptStoredTokens(); // another tab may have refreshed already
    const latest = this.tokens.get();
    if (latest && !this.expiresSoon(latest)) return;
    await this.refreshOnce();
  }

  /** The API refused `rejected`: refresh, unless the tokens were renewed meanwhile. */
  private async renewAfterRejection(rejected: string | undefined): Promise<void> {
    this.tokens.adoptStoredTokens();
    const current = this.tokens.get();
    if (current && current.access !== rejected) return;
    await this.refreshOnce();
  }

  /** One refresh in flight for the whole tab; everyone who needs it waits for it. */
  private refreshOnce(): Promise<void> {
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async refresh(): Promise<void> {
    const held = this.tokens.get();
    if (!held) throw signedOutError();
    try {
      const body = await this.request<SignedInBody>('POST', '/api/auth/refresh', {
        auth: false,
        json: { refreshToken: held.refresh },
      });
      this.adoptSignIn(body);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.signOut('expired');
        throw signedOutError();
      }
      throw error;
    }
  }

  /** An unreadable expiry is left to the API to judge (a 401 refreshes then). */
  private expiresSoon(tokens: Tokens): boolean {
    const expiresAt = jwtExpiresAt(tokens.access);
    return expiresAt !== null && expiresAt - this.now() < REFRESH_MARGIN_MS;
  }

  private conflictDelay(retry: number): number {
    const base = CONFLICT_RETRY_DELAYS_MS[retry] ?? 1000;
    return base + Math.floor((this.options.random ?? Math.random)() * base * 0.5);
  }

  private sleep(ms: number): Promise<void> {
    return (this.options.sleep ?? ((wait) => new Promise((resolve) => setTimeout(resolve, wait))))(ms);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private newKey(): string {
    return (this.options.newIdempotencyKey ?? randomKey)();
  }
}

/** 128 random bits as hex. (crypto.randomUUID exists only on https and localhost pages.) */
function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

async function readBody(response: RawResponse): Promise<unknown> {
  try {
    return JSON.parse(await response.text());
  } catch {
    return null;
  }
}

function isTransientConflict(body: unknown): boolean {
  const envelope = asEnvelope(body);
  return !envelope || TRANSIENT_CONFLICTS.has(envelope.code);
}

function signedOutError(): ApiError {
  return new ApiError({ status: 401, code: 'signed_out', message: 'Your session has ended. Please sign in again.' });
}
