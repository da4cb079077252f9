// The deck options form's values: the preset as the API gives it <-> text in inputs.

import type { DeckOptions } from '../api';

export const NUMBER_FIELDS = [
  ['newPerDay', 'New cards per day', ''],
  ['reviewsPerDay', 'Maximum reviews per day', ''],
  ['graduatingInterval', 'Graduating interval', 'days'],
  ['easyInterval', 'Easy interval', 'days'],
  ['startingEase', 'Starting ease', 'e.g. 2.5'],
  ['lapseMultiplier', 'New interval after a lapse', 'multiplier, 0 to 1'],
  ['minimumInterval', 'Minimum interval', 'days'],
  ['leechThreshold', 'Leech threshold', 'lapses'],
  ['hardMultiplier', 'Hard interval', 'multiplier'],
  ['easyBonus', 'Easy bonus', 'multiplier'],
  ['intervalModifier', 'Interval modifier', 'multiplier'],
  ['maximumInterval', 'Maximum interval', 'days'],
  ['maxAnswerSeconds', 'Maximum answer time', 'seconds'],
] as const satisfies readonly (readonly [keyof DeckOptions, string, string])[];

export const STEP_FIELDS = [
  ['learningSteps', 'Learning steps'],
  ['relearningSteps', 'Relearning steps'],
] as const satisfies readonly (readonly [keyof DeckOptions, string])[];

export const FLAG_FIELDS = [
  ['buryNew', 'Bury new siblings'],
  ['buryReviews', 'Bury review siblings'],
  ['buryInterdayLearning', 'Bury interday learning siblings'],
] as const satisfies readonly (readonly [keyof DeckOptions, string])[];

export type FormValues = Record<string, string | boolean>;

export function formValues(options: DeckOptions): FormValues {
  const values: FormValues = { name: options.name, leechAction: options.leechAction };
  for (const [key] of NUMBER_FIELDS) values[key] = String(options[key] ?? '');
  for (const [key] of STEP_FIELDS) values[key] = (options[key] ?? []).join(' ');
  for (const [key] of FLAG_FIELDS) values[key] = Boolean(options[key]);
  return values;
}

/** Steps are minutes separated by spaces ("1 10"); null when that is not what was typed. */
export function parseSteps(text: string): number[] | null {
  const parts = text
    .trim()
    .split(/[\s,]+/)
    .filter(Boolean);
  const steps = parts.map(Number);
  return steps.every((step) => Number.isFinite(step) && step > 0) ? steps : null;
}

export interface Parsed {
  body: Partial<DeckOptions>;
  problems: Record<string, string>;
}

/** The PUT body, or the fields that are not numbers (the API checks ranges itself). */
export function parseForm(values: FormValues): Parsed {
  const body: Record<string, unknown> = { name: values.name, leechAction: values.leechAction };
  const problems: Record<string, string> = {};
  for (const [key] of NUMBER_FIELDS) {
    const number = Number(String(values[key]).trim());
    if (String(values[key]).trim() === '' || !Number.isFinite(number)) problems[key] = 'Enter a number.';
    else body[key] = number;
  }
  for (const [key] of STEP_FIELDS) {
    const steps = parseSteps(String(values[key]));
    if (steps === null) problems[key] = 'Enter minutes separated by spaces, e.g. 1 10.';
    else body[key] = steps;
  }
  for (const [key] of FLAG_FIELDS) body[key] = values[key] === true;
  return { body: body as Partial<DeckOptions>, problems };
}
