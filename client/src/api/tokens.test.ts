import { expect, test } from 'vitest';

import { MemoryStorage, fakeJwt } from './testing';
import { TokenStore, jwtExpiresAt } from './tokens';

test('test_it_reads_the_expiry_claim_of_a_jwt', () => {
  expect(jwtExpiresAt(fakeJwt(1_795_400_000_000))).toBe(1_795_400_000_000);
  expect(jwtExpiresAt('not-a-jwt')).toBeNull();
  expect(jwtExpiresAt('a.!!!.c')).toBeNull();
});

test('test_it_keeps_tokens_across_a_reload_and_forgets_them_on_sign_out', () => {
  const storage = new MemoryStorage();
  new TokenStore(storage).set({ access: 'a1', refresh: 'r1' });
  const reloaded = new TokenStore(storage);
  expect(reloaded.get()).toEqual({ access: 'a1', refresh: 'r1' });
  reloaded.set(null);
  expect(new TokenStore(storage).get()).toBeNull();
});

test('test_it_adopts_tokens_another_tab_stored_and_tells_listeners', () => {
  const storage = new MemoryStorage();
  const store = new TokenStore(storage);
  let heard = 0;
  store.subscribe(() => {
    heard += 1;
  });
  storage.setItem('javumbo.tokens', JSON.stringify({ access: 'a2', refresh: 'r2' }));
  store.adoptStoredTokens();
  store.adoptStoredTokens();
  expect(store.get()).toEqual({ access: 'a2', refresh: 'r2' });
  expect(heard).toBe(1);
});

test('test_it_ignores_a_corrupt_stored_value', () => {
  const storage = new MemoryStorage();
  storage.setItem('javumbo.tokens', '{"access": 1');
  expect(new TokenStore(storage).get()).toBeNull();
});
