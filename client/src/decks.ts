// The deck tree in the shapes the screens want: flattened for pickers, found by id.

import { useQuery } from '@tanstack/react-query';

import { api, type DeckNode } from './api';

export const DECKS_QUERY = ['decks'] as const;
export const DEFAULT_DECK_ID = 1;

export function useDeckTree() {
  return useQuery({ queryKey: DECKS_QUERY, queryFn: api.decks.tree });
}

export interface DeckChoice {
  id: number;
  name: string;
  depth: number;
}

/** Every deck in tree order, with its depth, for <select>s. */
export function flattenDecks(nodes: readonly DeckNode[], depth = 0): DeckChoice[] {
  return nodes.flatMap((node) => [{ id: node.id, name: node.name, depth }, ...flattenDecks(node.children, depth + 1)]);
}

export function findDeck(nodes: readonly DeckNode[], id: number): DeckNode | undefined {
  for (const node of nodes) {
    if (node.id === id) return node;
    const inner = findDeck(node.children, id);
    if (inner) return inner;
  }
  return undefined;
}

/** The Default deck is hidden when it is empty and other decks exist, as Anki does. */
export function visibleDecks(nodes: readonly DeckNode[]): DeckNode[] {
  if (nodes.length <= 1) return [...nodes];
  return nodes.filter((node) => node.id !== DEFAULT_DECK_ID || node.cardCount > 0 || node.children.length > 0);
}
