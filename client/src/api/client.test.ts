import { describe, expect, test } from 'vitest';

import {
  ApiClient,
  CONFLICT_RETRY_DELAYS_MS,
  REFRESH_MARGIN_MS,
  type ClientOptions,
  type SignOutReason,
} from './client';
import { ApiError } from './errors';
import { MemoryStorage, envelope, fakeJwt, reply, scriptedTransport, type Handler } from './testing';
import { TokenStore } from './tokens';
import { NetworkFailure, type OutgoingRequest } from './transport';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const HOUR = 3_600_000;

interface Rig {
  client: ApiClient;
  calls: OutgoingRequest[];
  sleeps: number[];
  signOuts: SignOutReason[];
  changes: number;
  local: MemoryStorage;
  tab: MemoryStorage;
}

function rig(
  handler: Handler,
  options: { access?: string; refresh?: string; extra?: Partial<ClientOptions> } = {},
): Rig {
  const local = new MemoryStorage();
  const tab = new MemoryStorage();
  const tokens = new TokenStore(local);
  if (options.access !== undefined) tokens.set({ access: options.access, refresh: options.refresh ?? 'refresh-1' });
  const transport = scriptedTransport(handler);
  const state: Rig = {
    client: undefined as never,
    calls: transport.calls,
    sleeps: [],
    signOuts: [],
    changes: 0,
    local,
    tab,
  };
  let keys = 0;
  state.client = new ApiClient({
    transport,
    tokens,
    tabStorage: tab,
    now: () => NOW,
    random: () => 0,
    sleep: async (ms) => {
      state.sleeps.push(ms);
    },
    newIdempotencyKey: () => `key-${++keys}`,
    onSignedOut: (reason) => state.signOuts.push(reason),
    onChange: () => {
      state.changes += 1;
    },
    ...options.extra,
  });
  return state;
}

const freshAccess = fakeJwt(NOW + HOUR, 'fresh');
const renewedAccess = fakeJwt(NOW + 2 * HOUR, 'renewed');

function refreshAnswer(): ReturnType<typeof reply> {
  return reply(200, { accessToken: renewedAccess, refreshToken: 'refresh-2', tokenType: 'Bearer', expiresIn: 900 });
}

describe('tokens and session id', () => {
  test('test_it_sends_the_bearer_token_and_keeps_the_session_id_the_api_answers', async () => {
    const r = rig(() => reply(200, { ok: true }, { 'X-Session-ID': 'session-A' }), { access: freshAccess });
    await r.client.request('GET', '/api/decks');
    await r.client.request('GET', '/api/decks');
    expect(r.calls[0]?.headers.Authorization).toBe(`Bearer ${freshAccess}`);
    expect(r.calls[0]?.headers['X-Session-ID']).toBeUndefined();
    expect(r.calls[1]?.headers['X-Session-ID']).toBe('session-A');
    expect(r.tab.getItem('javumbo.sessionId')).toBe('session-A');
  });

  test('test_it_refreshes_before_the_access_token_expires', async () => {
    const soon = fakeJwt(NOW + REFRESH_MARGIN_MS - 1000, 'soon');
    const r = rig((request) => (request.url === '/api/auth/refresh' ? refreshAnswer() : reply(200, {})), {
      access: soon,
    });
    await r.client.request('GET', '/api/decks');
    expect(r.calls.map((call) => call.url)).toEqual(['/api/auth/refresh', '/api/decks']);
    expect(JSON.parse(String(r.calls[0]?.body))).toEqual({ refreshToken: 'refresh-1' });
    expect(r.calls[0]?.headers.Authorization).toBeUndefined();
    expect(r.calls[1]?.headers.Authorization).toBe(`Bearer ${renewedAccess}`);
    expect(JSON.parse(r.local.getItem('javumbo.tokens') ?? '{}')).toEqual({
      access: renewedAccess,
      refresh: 'refresh-2',
    });
  });

  test('test_it_refreshes_on_401_and_retries_the_request_once_with_the_same_idempotency_key', async () => {
    const r = rig(
      (request) => {
        if (request.url === '/api/auth/refresh') return refreshAnswer();
        return request.headers.Authorization === `Bearer ${renewedAccess}`
          ? reply(201, { id: 7 })
          : reply(401, envelope('token_not_valid', 'Token is invalid or expired'));
      },
      { access: freshAccess },
    );
    const created = await r.client.request<{ id: number }>('POST', '/api/decks', { json: { name: 'Verbs' } });
    expect(created).toEqual({ id: 7 });
    expect(r.calls.map((call) => call.url)).toEqual(['/api/decks', '/api/auth/refresh', '/api/decks']);
    expect(r.calls[0]?.headers['Idempotency-Key']).toBe('key-1');
    expect(r.calls[2]?.headers['Idempotency-Key']).toBe('key-1');
    expect(r.calls[2]?.body).toBe(JSON.stringify({ name: 'Verbs' }));
  });

  test('test_it_refreshes_once_for_many_requests_refused_at_the_same_time', async () => {
    let release: () => void = () => undefined;
    const refreshed = new Promise<void>((resolve) => {
      release = resolve;
    });
    const r = rig(
      async (request) => {
        if (request.url === '/api/auth/refresh') {
          await refreshed;
          return refreshAnswer();
        }
        return request.headers.Authorization === `Bearer ${renewedAccess}`
          ? reply(200, { url: request.url })
          : reply(401, {});
      },
      { access: freshAccess },
    );
    const pending = ['/api/a', '/api/b', '/api/c'].map((path) => r.client.request<{ url: string }>('GET', path));
    await new Promise((resolve) => setTimeout(resolve, 0));
    release();
    const answers = await Promise.all(pending);
    expect(answers.map((answer) => answer.url)).toEqual(['/api/a', '/api/b', '/api/c']);
    expect(r.calls.filter((call) => call.url === '/api/auth/refresh')).toHaveLength(1);
  });

  test('test_it_does_not_refresh_again_for_a_refusal_of_a_token_already_replaced', async () => {
    const r = rig(
      (request) => {
        if (request.url === '/api/auth/refresh') return refreshAnswer();
        // The slow request was sent with the old token; by the time it is refused, the new one is in.
        if (request.url === '/api/slow' && request.headers.Authorization === `Bearer ${freshAccess}`) {
          r.client.tokens.set({ access: renewedAccess, refresh: 'refresh-2' });
          return reply(401, envelope('token_not_valid', 'expired'));
        }
        return reply(200, { url: request.url });
      },
      { access: freshAccess },
    );
    await r.client.request('GET', '/api/slow');
    expect(r.calls.map((call) => call.url)).toEqual(['/api/slow', '/api/slow']);
    expect(r.calls[1]?.headers.Authorization).toBe(`Bearer ${renewedAccess}`);
  });

  test('test_it_signs_out_when_the_refresh_token_is_refused', async () => {
    const r = rig(
      (request) =>
        request.url === '/api/auth/refresh'
          ? reply(401, envelope('token_revoked', 'Please sign in again.'))
          : reply(401, envelope('token_not_valid', 'expired')),
      { access: freshAccess },
    );
    r.tab.setItem('javumbo.sessionId', 'session-A');
    const failure = await r.client.request('GET', '/api/decks').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect((failure as ApiError).status).toBe(401);
    expect(r.signOuts).toEqual(['expired']);
    expect(r.client.signedIn).toBe(false);
    expect(r.local.getItem('javumbo.tokens')).toBeNull();
    expect(r.tab.getItem('javumbo.sessionId')).toBeNull();
  });

  test('test_it_does_not_refresh_twice_when_the_retried_request_is_refused_again', async () => {
    const r = rig(
      (request) =>
        request.url === '/api/auth/refresh'
          ? refreshAnswer()
          : reply(401, envelope('account_gone', 'This account no longer exists.')),
      { access: freshAccess },
    );
    const failure = (await r.client.request('GET', '/api/decks').catch((error: unknown) => error)) as ApiError;
    expect(failure.code).toBe('account_gone');
    expect(failure.message).toBe('This account no longer exists.');
    expect(r.calls.map((call) => call.url)).toEqual(['/api/decks', '/api/auth/refresh', '/api/decks']);
    expect(r.signOuts).toEqual(['expired']);
  });

  test('test_it_takes_tokens_another_tab_refreshed_instead_of_refreshing_again', async () => {
    const soon = fakeJwt(NOW + 1000, 'soon');
    const r = rig(() => reply(200, {}), { access: soon });
    r.local.setItem('javumbo.tokens', JSON.stringify({ access: renewedAccess, refresh: 'refresh-9' }));
    await r.client.request('GET', '/api/decks');
    expect(r.calls.map((call) => call.url)).toEqual(['/api/decks']);
    expect(r.calls[0]?.headers.Authorization).toBe(`Bearer ${renewedAccess}`);
  });

  test('test_it_makes_a_fresh_random_idempotency_key_per_request', async () => {
    const r = rig(() => reply(200, {}), { access: freshAccess, extra: { newIdempotencyKey: undefined } });
    await r.client.request('POST', '/api/decks', { json: { name: 'a' } });
    await r.client.request('POST', '/api/decks', { json: { name: 'b' } });
    const keys = r.calls.map((call) => call.headers['Idempotency-Key'] ?? '');
    expect(keys.every((key) => /^[0-9a-f]{32}$/.test(key))).toBe(true);
    expect(keys[0]).not.toBe(keys[1]);
  });

  test('test_it_leaves_a_token_without_a_readable_expiry_to_the_api', async () => {
    const r = rig(() => reply(200, {}), { access: 'opaque-token' });
    await r.client.request('GET', '/api/decks');
    expect(r.calls.map((call) => call.url)).toEqual(['/api/decks']);
  });

  test('test_it_sends_public_routes_without_token_or_idempotency_key', async () => {
    const r = rig(() => reply(201, { user: { username: 'alice' } }), { access: freshAccess });
    await r.client.request('POST', '/api/auth/register', { auth: false, json: { username: 'alice' } });
    expect(r.calls[0]?.headers.Authorization).toBeUndefined();
    expect(r.calls[0]?.headers['Idempotency-Key']).toBeUndefined();
    expect(r.calls[0]?.headers['Content-Type']).toBe('application/json');
  });
});

describe('conflicts and failures', () => {
  test('test_it_retries_a_409_with_growing_waits_and_the_same_idempotency_key', async () => {
    let attempts = 0;
    const r = rig(
      () =>
        ++attempts < 3
          ? reply(409, envelope('conflict', 'Another device changed this collection.'))
          : reply(200, { ok: 1 }),
      { access: freshAccess },
    );
    expect(await r.client.request('POST', '/api/review', { json: { cardId: 1, ease: 3 } })).toEqual({ ok: 1 });
    expect(r.calls).toHaveLength(3);
    expect(new Set(r.calls.map((call) => call.headers['Idempotency-Key']))).toEqual(new Set(['key-1']));
    expect(r.sleeps).toEqual([CONFLICT_RETRY_DELAYS_MS[0], CONFLICT_RETRY_DELAYS_MS[1]]);
    expect(r.changes).toBe(1);
  });

  test('test_it_shows_a_conflict_only_after_three_retries', async () => {
    const r = rig(
      () => reply(409, envelope('conflict', 'Another device changed this collection at the same moment; try again.')),
      {
        access: freshAccess,
      },
    );
    const failure = (await r.client
      .request('PUT', '/api/decks/current', { json: { deckId: 1 } })
      .catch((e: unknown) => e)) as ApiError;
    expect(r.calls).toHaveLength(1 + CONFLICT_RETRY_DELAYS_MS.length);
    expect(r.sleeps).toEqual([...CONFLICT_RETRY_DELAYS_MS]);
    expect(failure.status).toBe(409);
    expect(failure.message).toBe('Another device changed this collection at the same moment; try again.');
    expect(r.changes).toBe(0);
  });

  test('test_it_does_not_retry_a_conflict_that_states_a_fact', async () => {
    for (const code of ['nothing_to_undo', 'deck_exists', 'not_in_queue']) {
      const r = rig(() => reply(409, envelope(code, 'That cannot be done now.')), { access: freshAccess });
      const failure = (await r.client.request('POST', '/api/review/undo').catch((e: unknown) => e)) as ApiError;
      expect(failure.code).toBe(code);
      expect(r.calls).toHaveLength(1);
      expect(r.sleeps).toEqual([]);
    }
  });

  test('test_it_turns_429_into_advice_with_the_retry_after_wait', async () => {
    const r = rig(() => reply(429, envelope('throttled', 'Request was throttled.'), { 'Retry-After': '120' }));
    const failure = (await r.client
      .request('POST', '/api/auth/login', { auth: false, json: {} })
      .catch((e: unknown) => e)) as ApiError;
    expect(failure.status).toBe(429);
    expect(failure.retryAfterSeconds).toBe(120);
    expect(failure.message).toBe('Too many attempts. Please wait 2 minutes and try again.');
  });

  test('test_it_turns_503_into_advice_that_nothing_was_changed', async () => {
    const r = rig(() => reply(503, envelope('unavailable', 'DynamoDB is unreachable.'), { 'Retry-After': '30' }), {
      access: freshAccess,
    });
    const failure = (await r.client.request('POST', '/api/notes', { json: {} }).catch((e: unknown) => e)) as ApiError;
    expect(failure.status).toBe(503);
    expect(failure.message).toBe(
      "Javumbo can't reach its storage right now, so nothing was changed. Please try again in 30 seconds.",
    );
  });

  test('test_it_exposes_the_field_errors_of_the_envelope_per_field', async () => {
    const details = {
      username: ["Use 3 to 32 characters: letters a-z, digits, '_' or '-'."],
      password: ['Use at least 8 characters.'],
      nonFieldErrors: ['Something else.'],
    };
    const r = rig(() => reply(400, envelope('invalid_input', 'The request is not valid.', details)));
    const failure = (await r.client
      .request('POST', '/api/auth/register', { auth: false, json: {} })
      .catch((e: unknown) => e)) as ApiError;
    expect(failure.field('username')).toBe(details.username[0]);
    expect(failure.field('password')).toBe('Use at least 8 characters.');
    expect(failure.field('timezone')).toBeUndefined();
    expect(failure.otherMessages(['username', 'password'])).toEqual(['Something else.']);
    expect(failure.message).toBe('The request is not valid.');
  });

  test('test_it_resends_after_a_lost_connection_with_the_same_key_then_gives_advice', async () => {
    const r = rig(
      () => {
        throw new NetworkFailure(new TypeError('Failed to fetch'));
      },
      { access: freshAccess },
    );
    const failure = (await r.client.request('POST', '/api/review', { json: {} }).catch((e: unknown) => e)) as ApiError;
    expect(failure.status).toBe(0);
    expect(failure.message).toBe("Javumbo can't be reached. Check your connection and try again.");
    expect(r.calls).toHaveLength(3);
    expect(new Set(r.calls.map((call) => call.headers['Idempotency-Key']))).toEqual(new Set(['key-1']));
  });

  test('test_it_does_not_resend_an_upload_after_a_lost_connection', async () => {
    const r = rig(
      () => {
        throw new NetworkFailure(new Error('XMLHttpRequest failed'));
      },
      { access: freshAccess },
    );
    const failure = (await r.client
      .request('POST', '/api/import', { body: 'file', onUploadProgress: () => undefined })
      .catch((e: unknown) => e)) as ApiError;
    expect(failure.status).toBe(0);
    expect(r.calls).toHaveLength(1);
  });

  test('test_it_tells_listeners_about_accepted_changes_only', async () => {
    const r = rig(
      (request) => (request.method === 'DELETE' ? reply(404, envelope('not_found', 'No deck 9.')) : reply(200, {})),
      {
        access: freshAccess,
      },
    );
    await r.client.request('GET', '/api/decks');
    await r.client.request('POST', '/api/decks', { json: { name: 'x' } });
    await r.client.request('DELETE', '/api/decks/9').catch(() => undefined);
    expect(r.changes).toBe(1);
  });
});
