// Saving an export: a file the API answered goes through an object URL; a presigned S3
// link is followed directly (it expires, so it is used at once).

import type { ExportDownload } from './api';

export function saveDownload(download: ExportDownload): void {
  const link = document.createElement('a');
  if (download.kind === 'file') {
    const url = URL.createObjectURL(download.blob);
    link.href = url;
    link.download = download.filename;
    link.click();
    window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } else {
    link.href = download.downloadUrl;
    link.download = download.filename;
    link.rel = 'noopener';
    link.click();
  }
}

export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
