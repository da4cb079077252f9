import { expect, test } from 'vitest';

import { nextDuePhrase } from './when';

const now = Date.UTC(2026, 10, 23, 12, 0);

test('test_it_says_today_tomorrow_or_the_date_of_the_next_card', () => {
  expect(nextDuePhrase(Date.UTC(2026, 10, 23, 14, 5), now, 'UTC')).toMatch(/^today at 0?2:05|^today at 14:05/);
  expect(nextDuePhrase(Date.UTC(2026, 10, 24, 4, 0), now, 'UTC')).toMatch(/^tomorrow at /);
  expect(nextDuePhrase(Date.UTC(2026, 10, 27, 4, 0), now, 'UTC')).toMatch(/27.* at /);
});

test('test_it_counts_days_in_the_given_time_zone', () => {
  // 23:30 UTC on the 23rd is already the 24th in Berlin.
  const late = Date.UTC(2026, 10, 23, 23, 30);
  expect(nextDuePhrase(late, now, 'UTC')).toMatch(/^today/);
  expect(nextDuePhrase(late, now, 'Europe/Berlin')).toMatch(/^tomorrow/);
});
