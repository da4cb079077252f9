import { expect, test } from 'vitest';

import { NetworkFailure, xhrTransport } from './transport';

/** Just enough of XMLHttpRequest to drive the transport the way a browser would. */
class FakeXhr {
  static last: FakeXhr | null = null;
  upload: { onprogress: ((event: { loaded: number; total: number; lengthComputable: boolean }) => void) | null } = {
    onprogress: null,
  };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  status = 0;
  responseText = '';
  opened: [string, string] | null = null;
  headers: Record<string, string> = {};
  sent: unknown = undefined;
  responseHeaders: Record<string, string> = {};

  constructor() {
    FakeXhr.last = this;
  }
  open(method: string, url: string) {
    this.opened = [method, url];
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  getResponseHeader(name: string) {
    return this.responseHeaders[name.toLowerCase()] ?? null;
  }
  send(body: unknown) {
    this.sent = body;
  }
}

test('test_it_reports_upload_progress_and_reads_the_answer', async () => {
  const progress: [number, number][] = [];
  const transport = xhrTransport(() => new FakeXhr() as unknown as XMLHttpRequest);
  const pending = transport({
    method: 'POST',
    url: '/api/import',
    headers: { Authorization: 'Bearer t', 'X-Session-ID': 's' },
    body: 'payload',
    onUploadProgress: (loaded, total) => progress.push([loaded, total]),
  });
  const xhr = FakeXhr.last as FakeXhr;
  xhr.upload.onprogress?.({ loaded: 50, total: 200, lengthComputable: true });
  xhr.upload.onprogress?.({ loaded: 200, total: 200, lengthComputable: true });
  xhr.status = 200;
  xhr.responseText = '{"notes":{"added":3}}';
  xhr.responseHeaders = { 'x-session-id': 'session-B' };
  xhr.onload?.();
  const response = await pending;
  expect(xhr.opened).toEqual(['POST', '/api/import']);
  expect(xhr.headers).toEqual({ Authorization: 'Bearer t', 'X-Session-ID': 's' });
  expect(xhr.sent).toBe('payload');
  expect(progress).toEqual([
    [50, 200],
    [200, 200],
  ]);
  expect(response.status).toBe(200);
  expect(response.header('X-Session-ID')).toBe('session-B');
  expect(await response.json()).toEqual({ notes: { added: 3 } });
});

test('test_it_fails_as_a_network_failure_when_the_upload_breaks', async () => {
  const transport = xhrTransport(() => new FakeXhr() as unknown as XMLHttpRequest);
  const pending = transport({ method: 'POST', url: '/api/import', headers: {}, body: 'x' });
  FakeXhr.last?.onerror?.();
  await expect(pending).rejects.toBeInstanceOf(NetworkFailure);
});
