// Note editing helpers that need no screen: cloze numbering, tags as typed, card states.

import type { CardSummary } from './api';

const CLOZE = /\{\{c(\d+)::/g;

/** The number a new cloze gets: one more than the highest already in the note. */
export function nextClozeNumber(fields: readonly string[]): number {
  let highest = 0;
  for (const text of fields) {
    for (const match of text.matchAll(CLOZE)) highest = Math.max(highest, Number(match[1]));
  }
  return highest + 1;
}

/** `text` with the selection [start, end) wrapped as cloze `number`, and where the caret goes. */
export function wrapCloze(text: string, start: number, end: number, number: number): { text: string; caret: number } {
  const opening = `{{c${number}::`;
  const inner = text.slice(start, end);
  const wrapped = `${opening}${inner}}}`;
  const caret = inner ? start + wrapped.length : start + opening.length;
  return { text: text.slice(0, start) + wrapped + text.slice(end), caret };
}

/** Tags as typed: separated by spaces (Anki's rule; a tag has no spaces), duplicates dropped. */
export function parseTags(text: string): string[] {
  const seen = new Set<string>();
  const tags: string[] = [];
  for (const tag of text.split(/\s+/).filter(Boolean)) {
    if (seen.has(tag.toLowerCase())) continue;
    seen.add(tag.toLowerCase());
    tags.push(tag);
  }
  return tags;
}

/** A card's state in words, from Anki's queue and type numbers. */
export function cardState(card: Pick<CardSummary, 'queue' | 'type' | 'ivl'>): string {
  if (card.queue === -1) return 'Suspended';
  if (card.queue === -2 || card.queue === -3) return 'Buried';
  if (card.type === 0) return 'New';
  if (card.queue === 1 || card.queue === 3) return card.type === 3 ? 'Relearning' : 'Learning';
  return `Review · ${card.ivl}d`;
}

export function isSuspended(card: Pick<CardSummary, 'queue'>): boolean {
  return card.queue === -1;
}
