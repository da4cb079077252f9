import { expect, test } from 'vitest';

import { cardState, nextClozeNumber, parseTags, wrapCloze } from './notes';

test('test_it_numbers_a_new_cloze_after_the_highest_in_any_field', () => {
  expect(nextClozeNumber(['', ''])).toBe(1);
  expect(nextClozeNumber(['{{c1::Paris}} is in {{c3::France}}', 'extra {{c2::x}}'])).toBe(4);
});

test('test_it_wraps_the_selection_as_a_cloze_and_puts_the_caret_after_it', () => {
  expect(wrapCloze('Paris is in France', 12, 18, 2)).toEqual({ text: 'Paris is in {{c2::France}}', caret: 26 });
  expect(wrapCloze('ab', 1, 1, 1)).toEqual({ text: 'a{{c1::}}b', caret: 7 });
});

test('test_it_splits_tags_on_spaces_and_drops_repeats_ignoring_case', () => {
  expect(parseTags('  verbs::ar  Spanish verbs::AR spanish ')).toEqual(['verbs::ar', 'Spanish']);
  expect(parseTags('   ')).toEqual([]);
});

test('test_it_names_card_states_from_queue_and_type', () => {
  expect(cardState({ queue: 0, type: 0, ivl: 0 })).toBe('New');
  expect(cardState({ queue: 1, type: 1, ivl: 0 })).toBe('Learning');
  expect(cardState({ queue: 1, type: 3, ivl: 3 })).toBe('Relearning');
  expect(cardState({ queue: 2, type: 2, ivl: 12 })).toBe('Review · 12d');
  expect(cardState({ queue: -1, type: 2, ivl: 12 })).toBe('Suspended');
  expect(cardState({ queue: -3, type: 0, ivl: 0 })).toBe('Buried');
});
