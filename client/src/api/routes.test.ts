import { expect, test } from 'vitest';

import { ApiClient } from './client';
import { DIRECT_IMPORT_MAX_BYTES, createRoutes, filenameFrom } from './routes';
import { MemoryStorage, fakeJwt, reply, scriptedTransport, type Handler } from './testing';
import { TokenStore } from './tokens';
import { NetworkFailure } from './transport';

function routes(handler: Handler) {
  const tokens = new TokenStore(new MemoryStorage());
  tokens.set({ access: fakeJwt(Date.now() + 3_600_000), refresh: 'r' });
  const transport = scriptedTransport(handler);
  const client = new ApiClient({ transport, tokens, tabStorage: new MemoryStorage(), sleep: async () => undefined });
  return { api: createRoutes(client, transport), calls: transport.calls, client };
}

const deck = (id: number) => ({ id, name: `D${id}`, children: [] });

test('test_it_gathers_every_page_of_top_level_decks_with_the_current_deck', async () => {
  const { api, calls } = routes((request) => {
    const page = Number(new URL(request.url, 'http://x').searchParams.get('page'));
    const results = page === 1 ? [deck(1), deck(2)] : page === 2 ? [deck(3)] : [];
    return reply(200, { results, total: 3, page, perPage: 2, currentDeckId: 2 });
  });
  const tree = await api.decks.tree();
  expect(tree.currentDeckId).toBe(2);
  expect(tree.decks.map((d) => d.id)).toEqual([1, 2, 3]);
  expect(calls.map((call) => call.url)).toEqual(['/api/decks?page=1&perPage=200', '/api/decks?page=2&perPage=200']);
});

test('test_it_tells_a_file_export_from_a_presigned_link_by_content_type', async () => {
  const link = { downloadUrl: 'https://s3.example/x', expiresAt: 1, filename: 'big.apkg', bytes: 9 };
  let big = false;
  const { api, calls } = routes(() =>
    big
      ? reply(200, link, { 'Content-Type': 'application/json' })
      : reply(200, 'PK\u0003\u0004', {
          'Content-Type': 'application/octet-stream',
          'Content-Disposition': 'attachment; filename="javumbo-alice-2026-11-23.apkg"',
        }),
  );
  const small = await api.exchange.download({ deckId: 5, scheduling: false });
  expect(small.kind).toBe('file');
  expect(small.kind === 'file' && small.filename).toBe('javumbo-alice-2026-11-23.apkg');
  expect(calls[0]?.url).toBe('/api/export?deck=5&scheduling=false');
  expect(calls[0]?.headers.Accept).toBe('*/*');
  big = true;
  expect(await api.exchange.download({})).toEqual({ kind: 'link', ...link });
});

test('test_it_reads_plain_and_encoded_filenames', () => {
  expect(filenameFrom('attachment; filename="a b.apkg"')).toBe('a b.apkg');
  expect(filenameFrom("attachment; filename*=UTF-8''d%C3%A9ck.apkg")).toBe('déck.apkg');
  expect(filenameFrom(null)).toBeNull();
});

test('test_it_uploads_an_import_as_multipart_with_progress_as_a_fraction', async () => {
  const seen: number[] = [];
  const result = { notes: { added: 1, updated: 0, skipped: 0 } };
  const { api, calls } = routes((request) => {
    request.onUploadProgress?.(25, 100);
    request.onUploadProgress?.(100, 100);
    return reply(200, result);
  });
  const file = new File(['PK'], 'deck.apkg');
  expect(await api.exchange.upload(file, { scheduling: false, onProgress: (f) => seen.push(f) })).toEqual(result);
  const body = calls[0]?.body as FormData;
  expect(body.get('scheduling')).toBe('false');
  expect((body.get('file') as File).name).toBe('deck.apkg');
  expect(calls[0]?.headers['Content-Type']).toBeUndefined();
  expect(seen).toEqual([0.25, 1]);
});

test('test_it_keeps_the_session_a_start_returns_and_the_tokens_a_login_returns', async () => {
  const access = fakeJwt(Date.now() + 3_600_000, 'new');
  const { api, client } = routes((request) =>
    request.url === '/api/auth/login'
      ? reply(200, { accessToken: access, refreshToken: 'r2', user: { username: 'alice' } })
      : reply(200, { sessionId: 'S1', active: true, expiresAt: 1 }),
  );
  expect(await api.auth.login('alice', 'pw-pw-pw-pw')).toEqual({ username: 'alice' });
  expect(client.tokens.get()).toEqual({ access, refresh: 'r2' });
  await api.session.start();
  expect(client.sessionId()).toBe('S1');
});

test('test_it_sends_a_large_package_to_storage_first_then_imports_it_by_key', async () => {
  const ticket = {
    uploadUrl: 'https://bucket.s3.example/',
    formFields: { key: 'users/alice/uploads/x.apkg', policy: 'p', 'x-amz-signature': 's' },
    uploadKey: 'users/alice/uploads/x.apkg',
    expiresAt: 1,
    maxBytes: 100 * 1024 * 1024,
  };
  const result = { notes: { added: 2, updated: 0, skipped: 0 } };
  const seen: number[] = [];
  const { api, calls } = routes((request) => {
    if (request.url === '/api/import/uploads') return reply(201, ticket);
    if (request.url === ticket.uploadUrl) {
      request.onUploadProgress?.(50, 100);
      return reply(204);
    }
    return reply(200, result);
  });
  const big = new File([new Uint8Array(DIRECT_IMPORT_MAX_BYTES + 1)], 'big.colpkg');
  expect(await api.exchange.upload(big, { scheduling: true, onProgress: (f) => seen.push(f) })).toEqual(result);
  expect(calls.map((call) => call.url)).toEqual(['/api/import/uploads', ticket.uploadUrl, '/api/import']);
  const toStorage = calls[1];
  expect(toStorage?.headers).toEqual({});
  const names = [...(toStorage?.body as FormData).keys()];
  expect(names).toEqual(['key', 'policy', 'x-amz-signature', 'file']);
  expect(JSON.parse(String(calls[2]?.body))).toEqual({ uploadKey: ticket.uploadKey, scheduling: true });
  expect(seen).toEqual([0.5]);
});

test('test_it_refuses_a_package_above_the_import_limit_before_uploading', async () => {
  const { api, calls } = routes(() =>
    reply(201, {
      uploadUrl: 'https://s3/',
      formFields: {},
      uploadKey: 'k',
      expiresAt: 1,
      maxBytes: DIRECT_IMPORT_MAX_BYTES,
    }),
  );
  const big = new File([new Uint8Array(DIRECT_IMPORT_MAX_BYTES + 1)], 'big.apkg');
  const failure = await api.exchange
    .upload(big, { scheduling: true, onProgress: () => undefined })
    .catch((e: unknown) => e);
  expect((failure as Error).message).toBe('That file is too large: packages up to 4 MB.');
  expect(calls).toHaveLength(1);
});

test('test_it_tries_a_broken_storage_upload_once_more_then_gives_advice', async () => {
  const ticket = { uploadUrl: 'https://s3/', formFields: {}, uploadKey: 'k', expiresAt: 1, maxBytes: 10 ** 9 };
  let storageTries = 0;
  const { api } = routes((request) => {
    if (request.url === '/api/import/uploads') return reply(201, ticket);
    storageTries += 1;
    throw new NetworkFailure(new Error('XMLHttpRequest failed'));
  });
  const big = new File([new Uint8Array(DIRECT_IMPORT_MAX_BYTES + 1)], 'big.apkg');
  const failure = await api.exchange
    .upload(big, { scheduling: true, onProgress: () => undefined })
    .catch((e: unknown) => e);
  expect(storageTries).toBe(2);
  expect((failure as Error).message).toBe("Javumbo can't be reached. Check your connection and try again.");
});
