// The learner's JWTs: held in memory for every request, mirrored to localStorage so a
// reload or a new tab stays signed in. Listeners hear about sign-in and sign-out.

export interface Tokens {
  access: string;
  refresh: string;
}

const STORAGE_KEY = 'javumbo.tokens';

/** The `exp` claim of a JWT in epoch ms, or null when the token cannot be read. */
export function jwtExpiresAt(token: string): number | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : null;
  } catch {
    return null;
  }
}

export class TokenStore {
  private current: Tokens | null;
  private readonly listeners = new Set<() => void>();
  private readonly storage: Storage | null;

  constructor(storage: Storage | null) {
    this.storage = storage;
    this.current = this.read();
  }

  get(): Tokens | null {
    return this.current;
  }

  set(tokens: Tokens | null): void {
    this.current = tokens;
    try {
      if (tokens) this.storage?.setItem(STORAGE_KEY, JSON.stringify(tokens));
      else this.storage?.removeItem(STORAGE_KEY);
    } catch {
      // Storage can be full or forbidden (private mode); memory still holds the tokens.
    }
    this.notify();
  }

  accessExpiresAt(): number | null {
    return this.current ? jwtExpiresAt(this.current.access) : null;
  }

  /** Another tab signed in, refreshed or signed out: take its tokens. */
  adoptStoredTokens(): void {
    const stored = this.read();
    if (JSON.stringify(stored) === JSON.stringify(this.current)) return;
    this.current = stored;
    this.notify();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    this.listeners.forEach((listener) => listener());
  }

  private read(): Tokens | null {
    try {
      const raw = this.storage?.getItem(STORAGE_KEY);
      if (!raw) return null;
      const parsed = JSON.parse(raw) as Partial<Tokens>;
      return typeof parsed.access === 'string' && typeof parsed.refresh === 'string'
        ? { access: parsed.access, refresh: parsed.refresh }
        : null;
    } catch {
      return null;
    }
  }
}
