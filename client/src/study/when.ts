// "next card at ..." in words the learner reads at a glance, in their browser's zone.

export function nextDuePhrase(dueAt: number, now: number, timeZone?: string): string {
  const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', timeZone }).format(dueAt);
  const day = (at: number) => new Intl.DateTimeFormat('en-CA', { timeZone }).format(at);
  if (day(dueAt) === day(now)) return `today at ${time}`;
  if (day(dueAt) === day(now + 86_400_000)) return `tomorrow at ${time}`;
  const date = new Intl.DateTimeFormat(undefined, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    timeZone,
  }).format(dueAt);
  return `${date} at ${time}`;
}
