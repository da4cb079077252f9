// What the session indicator says, worked out from GET /api/session/status.

import type { SessionStatus } from '../api';

export interface SessionView {
  label: string;
  pendingLabel: string;
  /** Closing the tab should ask first: changes are not yet folded into the snapshot. */
  warnOnClose: boolean;
  canSave: boolean;
}

export function clock(msLeft: number): string {
  const seconds = Math.max(0, Math.ceil(msLeft / 1000));
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, '0')}`;
}

export function sessionView(status: SessionStatus | undefined, now: number): SessionView {
  if (!status) return { label: 'Session…', pendingLabel: '', warnOnClose: false, canSave: false };
  const pending = status.pendingChanges;
  const pendingLabel = pending === 0 ? 'All saved' : pending === 1 ? '1 change pending' : `${pending} changes pending`;
  const live = status.active && status.expiresAt !== null && status.expiresAt > now;
  const label = live ? `Session · ${clock((status.expiresAt as number) - now)} left` : 'No session';
  return { label, pendingLabel, warnOnClose: pending > 0, canSave: pending > 0 || live };
}
