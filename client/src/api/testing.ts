// Test doubles for the API layer: an in-memory Storage, JWTs with a chosen expiry, and a
// scripted transport that records every request it is given. No network is involved.

import type { OutgoingRequest, RawResponse, Transport } from './transport';

export class MemoryStorage implements Storage {
  private readonly items = new Map<string, string>();

  get length(): number {
    return this.items.size;
  }

  clear(): void {
    this.items.clear();
  }

  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }

  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null;
  }

  removeItem(key: string): void {
    this.items.delete(key);
  }

  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

function base64url(text: string): string {
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** An unsigned JWT whose `exp` is `expiresAtMs` (the client only reads the claim). */
export function fakeJwt(expiresAtMs: number, label = 'token'): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify({ exp: Math.floor(expiresAtMs / 1000), label }));
  return `${header}.${payload}.signature`;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export function reply(status: number, body?: unknown, headers: Record<string, string> = {}): RawResponse {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    status,
    header: (name) => lower[name.toLowerCase()] ?? null,
    json: async () => JSON.parse(text) as unknown,
    text: async () => text,
    blob: async () => new Blob([text], { type: lower['content-type'] ?? '' }),
  };
}

export type Handler = (request: OutgoingRequest) => RawResponse | Promise<RawResponse>;

/** A transport answering with `handler` and remembering every request. */
export function scriptedTransport(handler: Handler): Transport & { calls: OutgoingRequest[] } {
  const calls: OutgoingRequest[] = [];
  const transport = async (request: OutgoingRequest) => {
    calls.push(request);
    return handler(request);
  };
  return Object.assign(transport, { calls });
}

export function envelope(code: string, error: string, details?: unknown): unknown {
  return details === undefined ? { error, code } : { error, code, details };
}
