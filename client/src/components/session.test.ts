import { expect, test } from 'vitest';

import type { SessionStatus } from '../api';
import { clock, sessionView } from './session';

const now = 1_795_400_000_000;
const status = (changes: Partial<SessionStatus>): SessionStatus => ({
  sessionId: 'S1',
  active: true,
  expiresAt: now + 272_000,
  pendingChanges: 0,
  snapshotSeq: 4,
  headSeq: 4,
  ...changes,
});

test('test_it_shows_time_left_in_minutes_and_seconds', () => {
  expect(clock(272_000)).toBe('4:32');
  expect(clock(59_001)).toBe('1:00');
  expect(clock(-5)).toBe('0:00');
  expect(sessionView(status({}), now).label).toBe('Session · 4:32 left');
});

test('test_it_warns_on_tab_close_only_while_changes_are_pending', () => {
  expect(sessionView(status({ pendingChanges: 0 }), now)).toMatchObject({
    pendingLabel: 'All saved',
    warnOnClose: false,
  });
  expect(sessionView(status({ pendingChanges: 1 }), now)).toMatchObject({
    pendingLabel: '1 change pending',
    warnOnClose: true,
  });
  expect(sessionView(status({ pendingChanges: 3, active: false }), now)).toMatchObject({
    label: 'No session',
    pendingLabel: '3 changes pending',
    warnOnClose: true,
    canSave: true,
  });
});

test('test_it_treats_an_expired_session_as_none', () => {
  const expired = sessionView(status({ expiresAt: now - 1 }), now);
  expect(expired.label).toBe('No session');
  expect(expired.canSave).toBe(false);
  expect(sessionView(undefined, now).warnOnClose).toBe(false);
});
