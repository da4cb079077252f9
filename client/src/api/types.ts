// The shapes the API answers (camelCase on the wire): API.md, README "Accounts",
// docs/contracts.md (review, statistics, import/export) and the collection routes.

export interface User {
  username: string;
  name: string;
  timezone: string;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface SignedIn {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: number;
  user: User;
}

export interface Page<T> {
  results: T[];
  total: number;
  page: number;
  perPage: number;
}

export interface SessionStatus {
  sessionId: string | null;
  active: boolean;
  expiresAt: number | null;
  pendingChanges: number;
  snapshotSeq: number;
  headSeq: number;
}

export interface SessionStarted {
  sessionId: string;
  active: boolean;
  expiresAt: number;
}

export interface Flushed {
  flushed: boolean;
  snapshotSeq: number;
  foldedChanges: number;
}

// Decks and their options

export interface DeckNode {
  id: number;
  name: string;
  shortName: string;
  filtered: boolean;
  presetId: number | null;
  description: string;
  collapsed: boolean;
  parentId: number | null;
  newCount: number;
  learnCount: number;
  reviewCount: number;
  cardCount: number;
  children: DeckNode[];
}

export interface DeckTree {
  currentDeckId: number;
  decks: DeckNode[];
}

export interface DeckOptions {
  id: number;
  name: string;
  deckIds: number[];
  newPerDay: number;
  reviewsPerDay: number;
  learningSteps: number[];
  graduatingInterval: number;
  easyInterval: number;
  startingEase: number;
  relearningSteps: number[];
  lapseMultiplier: number;
  minimumInterval: number;
  leechThreshold: number;
  leechAction: 'suspend' | 'tagOnly';
  hardMultiplier: number;
  easyBonus: number;
  intervalModifier: number;
  maximumInterval: number;
  buryNew: boolean;
  buryReviews: boolean;
  buryInterdayLearning: boolean;
  maxAnswerSeconds: number;
}

// Note types, notes, cards

export interface Notetype {
  id: number;
  name: string;
  kind: 'standard' | 'cloze';
  fields: { name: string; ord: number }[];
  templates: { name: string; ord: number; front: string; back: string }[];
  sortField: number;
  css: string;
}

export interface CardSummary {
  id: number;
  noteId: number;
  deckId: number;
  deckName: string;
  ord: number;
  mod: number;
  type: number;
  queue: number;
  due: number;
  ivl: number;
  factor: number;
  reps: number;
  lapses: number;
  left: number;
  odue: number;
  odid: number;
  flags: number;
}

export interface Note {
  id: number;
  guid: string;
  notetypeId: number;
  notetype: string;
  kind: 'standard' | 'cloze';
  fields: Record<string, string>;
  tags: string[];
  sortField: string;
  mod: number;
  cards: CardSummary[];
}

export interface Card extends CardSummary {
  notetypeId: number;
  notetype: string;
  template: string;
  fields: Record<string, string>;
  tags: string[];
  front: string;
  back: string;
  css?: string;
}

export interface NoteInput {
  deckId?: number;
  notetypeId: number;
  fields: Record<string, string>;
  tags: string[];
}

export interface Tag {
  name: string;
  noteCount: number;
}

// Review (docs/contracts.md)

export type Ease = 1 | 2 | 3 | 4;

export interface StudyCard {
  id: number;
  noteId: number;
  deckId: number;
  ord: number;
  front: string;
  back: string;
  css: string;
  type: number;
  queue: number;
  due: number;
  ivl: number;
  factor: number;
  reps: number;
  lapses: number;
  left: number;
}

export interface StudyCounts {
  new: number;
  learning: number;
  review: number;
}

export interface NextInterval {
  seconds: number;
  label: string;
}

export interface StudyState {
  deckId: number;
  card: StudyCard | null;
  counts: StudyCounts;
  intervals: Record<'1' | '2' | '3' | '4', NextInterval> | null;
  nextDueAt: number | null;
}

export interface Answered {
  answered: Pick<StudyCard, 'id' | 'type' | 'queue' | 'due' | 'ivl' | 'factor' | 'reps' | 'lapses' | 'left'>;
  next: StudyState;
}

export interface Undone {
  undone: { cardId: number };
  next: StudyState;
}

// Statistics (docs/contracts.md)

export interface CardCounts {
  total: number;
  new: number;
  learning: number;
  relearning: number;
  young: number;
  mature: number;
  suspended: number;
  buried: number;
  dueToday: number;
}

export interface Retention {
  passed: number;
  total: number;
  rate: number | null;
}

export type ButtonCounts = Record<'1' | '2' | '3' | '4', number>;

export interface Stats {
  days: number;
  reviewsPerDay: { date: string; count: number; timeMs: number }[];
  forecast: { date: string; count: number }[];
  retention: { young: Retention; mature: Retention };
  buttons: { learning: ButtonCounts; young: ButtonCounts; mature: ButtonCounts };
  cardCounts: CardCounts;
  streak: number;
  today: { reviews: number; timeMs: number };
}

// Export and import (docs/contracts.md)

export interface PresignedExport {
  downloadUrl: string;
  expiresAt: number;
  filename: string;
  bytes: number;
}

export interface ImportResult {
  notes: { added: number; updated: number; skipped: number };
  cards: { added: number; updated: number; skipped: number };
  revlog: { added: number };
  decks: { added: number };
  notetypes: { added: number; matched: number };
  media: { added: number; skipped: number };
  skipped: { guid: string; reason: string }[];
}
