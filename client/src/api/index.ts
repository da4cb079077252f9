// The browser's one API client: fetch for requests, XMLHttpRequest for uploads,
// tokens in localStorage (shared by tabs), the session id in sessionStorage (per tab).

import { ApiClient, type SignOutReason } from './client';
import { createRoutes } from './routes';
import { TokenStore } from './tokens';
import { fetchTransport, xhrTransport } from './transport';

export { ApiError, isApiError } from './errors';
export type { FieldErrors } from './errors';
export type { ExportDownload, CardAction, RegisterInput } from './routes';
export * from './types';

function storageOrNull(pick: () => Storage): Storage | null {
  try {
    return pick();
  } catch {
    return null;
  }
}

const signOutListeners = new Set<(reason: SignOutReason) => void>();
const changeListeners = new Set<() => void>();

export const client = new ApiClient({
  transport: fetchTransport(window.fetch.bind(window)),
  tokens: new TokenStore(storageOrNull(() => window.localStorage)),
  tabStorage: storageOrNull(() => window.sessionStorage),
  onSignedOut: (reason) => signOutListeners.forEach((listener) => listener(reason)),
  onChange: () => changeListeners.forEach((listener) => listener()),
});

export const api = createRoutes(client, xhrTransport());

window.addEventListener('storage', (event) => {
  if (event.key === null || event.key === 'javumbo.tokens') client.tokens.adoptStoredTokens();
});

export function onSignedOut(listener: (reason: SignOutReason) => void): () => void {
  signOutListeners.add(listener);
  return () => signOutListeners.delete(listener);
}

/** Heard after every change the API accepted (the session indicator re-reads its status). */
export function onCollectionChange(listener: () => void): () => void {
  changeListeners.add(listener);
  return () => changeListeners.delete(listener);
}
