import { expect, test } from 'vitest';

import { activatesTarget, isTypingTarget, studyKeyAction, type KeyPress, type StudyPhase } from './keys';

const press = (key: string, extra: Partial<KeyPress> = {}): KeyPress => ({
  key,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  ...extra,
});
const question: StudyPhase = { hasCard: true, revealed: false, busy: false };
const answer: StudyPhase = { hasCard: true, revealed: true, busy: false };

test('test_it_shows_the_answer_on_space_or_enter_only_while_the_question_is_up', () => {
  expect(studyKeyAction(press(' '), question)).toEqual({ kind: 'show' });
  expect(studyKeyAction(press('Enter'), question)).toEqual({ kind: 'show' });
  expect(studyKeyAction(press(' '), answer)).toBeNull();
  expect(studyKeyAction(press('Enter'), { hasCard: false, revealed: false, busy: false })).toBeNull();
});

test('test_it_answers_with_1_to_4_only_once_the_answer_is_shown', () => {
  expect(studyKeyAction(press('1'), answer)).toEqual({ kind: 'answer', ease: 1 });
  expect(studyKeyAction(press('4'), answer)).toEqual({ kind: 'answer', ease: 4 });
  expect(studyKeyAction(press('3'), question)).toBeNull();
  expect(studyKeyAction(press('5'), answer)).toBeNull();
  expect(studyKeyAction(press('2', { ctrlKey: true }), answer)).toBeNull();
});

test('test_it_undoes_on_z_and_ctrl_or_cmd_z_even_without_a_card', () => {
  const empty = { hasCard: false, revealed: false, busy: false };
  expect(studyKeyAction(press('z'), empty)).toEqual({ kind: 'undo' });
  expect(studyKeyAction(press('Z', { ctrlKey: true }), question)).toEqual({ kind: 'undo' });
  expect(studyKeyAction(press('z', { metaKey: true }), answer)).toEqual({ kind: 'undo' });
  expect(studyKeyAction(press('z', { altKey: true }), answer)).toBeNull();
});

test('test_it_ignores_keys_while_a_request_is_in_flight_or_held_down', () => {
  expect(studyKeyAction(press('3'), { ...answer, busy: true })).toBeNull();
  expect(studyKeyAction(press('3', { repeat: true }), answer)).toBeNull();
  expect(studyKeyAction(press('z'), { ...answer, busy: true })).toBeNull();
});

test('test_it_leaves_keys_typed_into_fields_alone', () => {
  expect(isTypingTarget({ tagName: 'INPUT', isContentEditable: false } as unknown as EventTarget)).toBe(true);
  expect(isTypingTarget({ tagName: 'DIV', isContentEditable: true } as unknown as EventTarget)).toBe(true);
  expect(isTypingTarget({ tagName: 'BUTTON', isContentEditable: false } as unknown as EventTarget)).toBe(false);
  expect(isTypingTarget(null)).toBe(false);
});

test('test_it_lets_space_and_enter_activate_a_focused_link_or_button', () => {
  const link = { tagName: 'A' } as unknown as EventTarget;
  const card = { tagName: 'DIV' } as unknown as EventTarget;
  expect(activatesTarget('Enter', link)).toBe(true);
  expect(activatesTarget(' ', { tagName: 'BUTTON' } as unknown as EventTarget)).toBe(true);
  expect(activatesTarget('3', link)).toBe(false);
  expect(activatesTarget('Enter', card)).toBe(false);
  expect(activatesTarget('Enter', null)).toBe(false);
});
