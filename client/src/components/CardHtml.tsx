// A card side exactly as the API rendered it. The API sanitizes card HTML (scripts,
// handlers and remote loads removed), so it is shown as is; nothing here builds HTML.

export function CardHtml({ html, label }: { html: string; label: string }) {
  return <div className="card" aria-label={label} dangerouslySetInnerHTML={{ __html: html }} />;
}

/** The text of a piece of card HTML, for lists (parsing never runs scripts or loads). */
export function plainText(html: string): string {
  const parsed = new DOMParser().parseFromString(html, 'text/html');
  return (parsed.body.textContent ?? '').replace(/\s+/g, ' ').trim();
}
