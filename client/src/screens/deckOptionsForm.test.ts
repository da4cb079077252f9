import { expect, test } from 'vitest';

import type { DeckOptions } from '../api';
import { formValues, parseForm, parseSteps } from './deckOptionsForm';

const preset: DeckOptions = {
  id: 1,
  name: 'Default',
  deckIds: [1],
  newPerDay: 20,
  reviewsPerDay: 200,
  learningSteps: [1, 10],
  graduatingInterval: 1,
  easyInterval: 4,
  startingEase: 2.5,
  relearningSteps: [10],
  lapseMultiplier: 0,
  minimumInterval: 1,
  leechThreshold: 8,
  leechAction: 'tagOnly',
  hardMultiplier: 1.2,
  easyBonus: 1.3,
  intervalModifier: 1,
  maximumInterval: 36500,
  buryNew: false,
  buryReviews: true,
  buryInterdayLearning: false,
  maxAnswerSeconds: 60,
};

test('test_it_reads_steps_as_minutes_separated_by_spaces_or_commas', () => {
  expect(parseSteps('1 10')).toEqual([1, 10]);
  expect(parseSteps(' 0.5, 15  1440 ')).toEqual([0.5, 15, 1440]);
  expect(parseSteps('')).toEqual([]);
  expect(parseSteps('1 ten')).toBeNull();
  expect(parseSteps('-1')).toBeNull();
});

test('test_it_round_trips_a_preset_through_the_form', () => {
  const parsed = parseForm(formValues(preset));
  expect(parsed.problems).toEqual({});
  const { id: _id, deckIds: _decks, ...options } = preset;
  expect(parsed.body).toEqual(options);
});

test('test_it_names_each_field_that_is_not_a_number', () => {
  const values = { ...formValues(preset), newPerDay: 'many', learningSteps: '1 x', easyBonus: '' };
  const parsed = parseForm(values);
  expect(Object.keys(parsed.problems).sort()).toEqual(['easyBonus', 'learningSteps', 'newPerDay']);
  expect(parsed.body.newPerDay).toBeUndefined();
});
