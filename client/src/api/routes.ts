// Every API route the client uses, as typed functions over one ApiClient.

import type { ApiClient } from './client';
import { ApiError, networkError } from './errors';
import type { Transport } from './transport';
import type {
  Answered,
  Card,
  DeckNode,
  DeckOptions,
  DeckTree,
  Ease,
  Flushed,
  ImportResult,
  Note,
  NoteInput,
  Notetype,
  Page,
  PresignedExport,
  SessionStarted,
  SessionStatus,
  SignedIn,
  Stats,
  StudyState,
  Undone,
  User,
} from './types';

export interface RegisterInput {
  username: string;
  password: string;
  name?: string;
  timezone?: string;
  starterDeck?: boolean;
}

export type ExportDownload = { kind: 'file'; blob: Blob; filename: string } | ({ kind: 'link' } & PresignedExport);

export type CardAction = 'suspend' | 'unsuspend' | 'forget';

export function createRoutes(client: ApiClient, uploads: Transport) {
  const get = <T>(path: string, query?: Record<string, string | number | boolean | undefined>) =>
    client.request<T>('GET', path, { query });
  const send = <T>(method: string, path: string, json?: unknown) => client.request<T>(method, path, { json });

  return {
    auth: {
      register: (input: RegisterInput) =>
        client.request<{ user: User }>('POST', '/api/auth/register', { json: input, auth: false }),
      login: async (username: string, password: string) => {
        const body = await client.request<SignedIn>('POST', '/api/auth/login', {
          json: { username, password },
          auth: false,
        });
        client.adoptSignIn(body);
        return body.user;
      },
      me: () => get<User>('/api/auth/me'),
      update: (changes: { name?: string; timezone?: string }) => send<User>('PATCH', '/api/auth/me', changes),
      changePassword: async (currentPassword: string, newPassword: string) => {
        const body = await send<SignedIn>('POST', '/api/auth/password', { currentPassword, newPassword });
        client.adoptSignIn(body);
        return body.user;
      },
      logoutEverywhere: async () => {
        await send<void>('POST', '/api/auth/logout-all');
        client.signOut();
      },
      deleteAccount: async (password: string) => {
        await send<void>('DELETE', '/api/auth/me', { password });
        client.signOut('deleted');
      },
    },
    session: {
      start: async () => {
        const started = await send<SessionStarted>('POST', '/api/session/start');
        client.setSessionId(started.sessionId);
        return started;
      },
      status: () => get<SessionStatus>('/api/session/status'),
      flush: () => send<Flushed>('POST', '/api/session/flush'),
    },
    decks: {
      tree: () => deckTree(client),
      create: (name: string) => send<DeckNode>('POST', '/api/decks', { name }),
      rename: (id: number, name: string) => send<DeckNode>('PUT', `/api/decks/${id}/rename`, { name }),
      remove: (id: number) => send<void>('DELETE', `/api/decks/${id}`),
      setCurrent: (deckId: number) => send<unknown>('PUT', '/api/decks/current', { deckId }),
      options: (id: number) => get<DeckOptions>(`/api/decks/${id}/options`),
      // Options live in a preset (possibly shared by several decks); the preset takes its name too.
      saveOptions: (presetId: number, options: Partial<DeckOptions>) =>
        send<DeckOptions>('PUT', `/api/deck-options/${presetId}`, options),
    },
    notetypes: {
      list: () => get<Page<Notetype> | Notetype[]>('/api/notetypes', { perPage: MAX_PER_PAGE }).then(resultsOf),
    },
    notes: {
      get: (id: number) => get<Note>(`/api/notes/${id}`),
      create: (input: NoteInput) => send<Note>('POST', '/api/notes', input),
      update: (id: number, input: Partial<NoteInput>) => send<Note>('PATCH', `/api/notes/${id}`, input),
      remove: (id: number) => send<void>('DELETE', `/api/notes/${id}`),
    },
    cards: {
      search: (q: string, page: number, perPage: number) => get<Page<Card>>('/api/cards', { q, page, perPage }),
      act: (id: number, action: CardAction) => send<Card>('POST', `/api/cards/${id}/${action}`),
      move: (id: number, deckId: number) => send<Card>('POST', `/api/cards/${id}/move`, { deckId }),
      remove: (id: number) => send<void>('DELETE', `/api/cards/${id}`),
    },
    review: {
      next: (deckId?: number) => get<StudyState>('/api/review', { deck: deckId }),
      // The deck studied rides along so that `next` comes from the same deck.
      answer: (cardId: number, ease: Ease, timeTaken: number, deckId?: number) =>
        send<Answered>('POST', '/api/review', { cardId, ease, timeTaken, deckId }),
      undo: (deckId?: number) => send<Undone>('POST', '/api/review/undo', { deckId }),
    },
    stats: {
      get: (deckId?: number, days = 365) => get<Stats>('/api/stats', { deck: deckId, days }),
    },
    exchange: {
      download: (options: { deckId?: number; scheduling?: boolean }) => exportDownload(client, options),
      upload: (file: File, options: { scheduling: boolean; onProgress: (fraction: number) => void }) =>
        importUpload(client, uploads, file, options),
    },
  };
}

export type Routes = ReturnType<typeof createRoutes>;

/** The API's largest page (API.md). */
const MAX_PER_PAGE = 200;

/** The whole tree: top-level decks come a page at a time, subdecks nested in each. */
async function deckTree(client: ApiClient): Promise<DeckTree> {
  type DeckPage = Page<DeckNode> & { currentDeckId: number };
  const fetchPage = (page: number) =>
    client.request<DeckPage>('GET', '/api/decks', { query: { page, perPage: MAX_PER_PAGE } });
  const first = await fetchPage(1);
  const decks = [...first.results];
  for (let page = 2; decks.length < first.total && first.results.length > 0; page++) {
    const next = await fetchPage(page);
    if (next.results.length === 0) break;
    decks.push(...next.results);
  }
  return { currentDeckId: first.currentDeckId, decks };
}

/** Lists may come paginated or bare; the screens want the items. */
function resultsOf<T>(body: Page<T> | T[]): T[] {
  return Array.isArray(body) ? body : body.results;
}

async function exportDownload(
  client: ApiClient,
  options: { deckId?: number; scheduling?: boolean },
): Promise<ExportDownload> {
  const query = { deck: options.deckId, scheduling: options.scheduling === false ? 'false' : undefined };
  const response = await client.raw('GET', '/api/export', { query, accept: '*/*' });
  // Large exports answer a presigned S3 link as JSON; small ones the file itself.
  if ((response.header('Content-Type') ?? '').includes('application/json')) {
    return { kind: 'link', ...((await response.json()) as PresignedExport) };
  }
  const filename = filenameFrom(response.header('Content-Disposition')) ?? 'javumbo.apkg';
  return { kind: 'file', blob: await response.blob(), filename };
}

export function filenameFrom(disposition: string | null): string | null {
  if (!disposition) return null;
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (encoded?.[1]) return decodeURIComponent(encoded[1]);
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  return plain?.[1] ?? null;
}

interface ImportOptions {
  scheduling: boolean;
  onProgress: (fraction: number) => void;
}

/** Lambda takes request bodies up to 6 MB, which API Gateway base64-encodes (4 bytes per
 * 3): larger packages go straight to S3 with a presigned form and are imported by key. */
export const DIRECT_IMPORT_MAX_BYTES = 4 * 1024 * 1024;

interface UploadTicket {
  uploadUrl: string;
  formFields: Record<string, string>;
  uploadKey: string;
  expiresAt: number;
  maxBytes: number;
}

function importUpload(
  client: ApiClient,
  uploads: Transport,
  file: File,
  options: ImportOptions,
): Promise<ImportResult> {
  if (file.size > DIRECT_IMPORT_MAX_BYTES) return importStaged(client, uploads, file, options);
  const form = new FormData();
  form.append('file', file, file.name);
  if (!options.scheduling) form.append('scheduling', 'false');
  return client.request<ImportResult>('POST', '/api/import', {
    body: form,
    transport: uploads,
    onUploadProgress: (loaded, total) => options.onProgress(total > 0 ? loaded / total : 0),
  });
}

async function importStaged(
  client: ApiClient,
  uploads: Transport,
  file: File,
  options: ImportOptions,
): Promise<ImportResult> {
  const ticket = await client.request<UploadTicket>('POST', '/api/import/uploads');
  if (file.size > ticket.maxBytes) {
    const limit = `${Math.floor(ticket.maxBytes / 1024 / 1024)} MB`;
    throw new ApiError({ status: 413, code: 'too_large', message: `That file is too large: packages up to ${limit}.` });
  }
  await uploadToStorage(uploads, ticket, file, options.onProgress);
  return client.request<ImportResult>('POST', '/api/import', {
    json: { uploadKey: ticket.uploadKey, scheduling: options.scheduling },
  });
}

/** The presigned POST to S3: its fields first, the file last (S3 ignores fields after it).
 * A lost connection is tried once more: the form names one key, so a second POST only
 * replaces the first. */
async function uploadToStorage(
  uploads: Transport,
  ticket: UploadTicket,
  file: File,
  onProgress: (fraction: number) => void,
): Promise<void> {
  const form = new FormData();
  for (const [name, value] of Object.entries(ticket.formFields)) form.append(name, value);
  form.append('file', file, file.name);
  const send = () =>
    uploads({
      method: 'POST',
      url: ticket.uploadUrl,
      headers: {},
      body: form,
      onUploadProgress: (loaded, total) => onProgress(total > 0 ? loaded / total : 0),
    });
  const response = await send().catch(() => send().catch(() => Promise.reject(networkError())));
  if (response.status >= 300) {
    throw new ApiError({
      status: response.status,
      code: 'upload_failed',
      message: `Uploading the file to storage failed (HTTP ${response.status}); nothing was imported. Please try again.`,
    });
  }
}
