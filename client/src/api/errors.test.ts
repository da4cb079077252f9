import { expect, test } from 'vitest';

import { apiErrorFrom, flattenDetails, parseRetryAfter, waitPhrase } from './errors';

test('test_it_flattens_nested_details_into_dotted_field_names', () => {
  const fields = flattenDetails({
    name: 'Deck names cannot be empty.',
    fields: { Front: ['Required.'], 0: ['Too long.', 'Not allowed.'] },
    tags: [{ 0: 'No spaces.' }],
  });
  expect(fields).toEqual({
    name: ['Deck names cannot be empty.'],
    'fields.0': ['Too long.', 'Not allowed.'],
    'fields.Front': ['Required.'],
    'tags.0.0': ['No spaces.'],
  });
});

test('test_it_reads_retry_after_as_seconds_or_as_a_date', () => {
  const now = Date.UTC(2026, 10, 23, 12, 0, 0);
  expect(parseRetryAfter('42', now)).toBe(42);
  expect(parseRetryAfter(new Date(now + 90_500).toUTCString(), now)).toBe(90);
  expect(parseRetryAfter('soon', now)).toBeNull();
  expect(parseRetryAfter(null, now)).toBeNull();
});

test('test_it_phrases_waits_the_way_people_say_them', () => {
  expect(waitPhrase(1)).toBe('1 second');
  expect(waitPhrase(59)).toBe('59 seconds');
  expect(waitPhrase(61)).toBe('2 minutes');
  expect(waitPhrase(3600)).toBe('60 minutes');
  expect(waitPhrase(3601)).toBe('61 minutes');
  expect(waitPhrase(7200)).toBe('2 hours');
});

test('test_it_keeps_the_api_message_for_ordinary_errors_and_hides_server_errors', () => {
  const notFound = apiErrorFrom(404, { error: 'There is no deck 9.', code: 'not_found' }, null, 0);
  expect([notFound.message, notFound.code]).toEqual(['There is no deck 9.', 'not_found']);
  const crash = apiErrorFrom(500, '<html>Traceback</html>', null, 0);
  expect(crash.message).toBe('Something went wrong on our side; nothing was changed. Please try again.');
  expect(crash.code).toBe('http_500');
});
