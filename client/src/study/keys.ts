// The study screen's keyboard: space or enter shows the answer, 1-4 answer,
// z or ctrl+z (cmd+z) undoes the last answer. Keys typed into a field are left alone.

import type { Ease } from '../api';

export type StudyAction = { kind: 'show' } | { kind: 'answer'; ease: Ease } | { kind: 'undo' };

export interface KeyPress {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  repeat?: boolean;
}

export interface StudyPhase {
  hasCard: boolean;
  revealed: boolean;
  busy: boolean;
}

export function studyKeyAction(press: KeyPress, phase: StudyPhase): StudyAction | null {
  if (phase.busy || press.repeat) return null;
  const key = press.key.length === 1 ? press.key.toLowerCase() : press.key;
  if (key === 'z' && !press.altKey) return { kind: 'undo' };
  if (press.ctrlKey || press.metaKey || press.altKey) return null;
  if ((key === ' ' || key === 'Enter') && phase.hasCard && !phase.revealed) return { kind: 'show' };
  if (['1', '2', '3', '4'].includes(key) && phase.hasCard && phase.revealed) {
    return { kind: 'answer', ease: Number(key) as Ease };
  }
  return null;
}

/** True when the key goes to something the learner is typing into. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!target || typeof (target as HTMLElement).tagName !== 'string') return false;
  const element = target as HTMLElement;
  return element.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(element.tagName);
}

/** Space and enter on a focused link or button activate it; the study keys leave them be. */
export function activatesTarget(key: string, target: EventTarget | null): boolean {
  if (key !== ' ' && key !== 'Enter') return false;
  const tag = (target as HTMLElement | null)?.tagName;
  return typeof tag === 'string' && ['A', 'BUTTON', 'SUMMARY'].includes(tag);
}
