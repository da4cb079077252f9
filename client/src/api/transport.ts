// How one HTTP attempt leaves the browser. fetch serves every request; XMLHttpRequest
// serves uploads, because only it reports upload progress. The client's policy (tokens,
// session id, retries) sits above both, so it is written and tested once.

export interface OutgoingRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: BodyInit | null;
  onUploadProgress?: (loaded: number, total: number) => void;
}

export interface RawResponse {
  status: number;
  header(name: string): string | null;
  json(): Promise<unknown>;
  text(): Promise<string>;
  blob(): Promise<Blob>;
}

export type Transport = (request: OutgoingRequest) => Promise<RawResponse>;

/** Thrown by a transport when no HTTP answer arrived at all. */
export class NetworkFailure extends Error {
  constructor(cause: unknown) {
    super('network failure');
    this.name = 'NetworkFailure';
    this.cause = cause;
  }
}

export function fetchTransport(fetchImpl: typeof fetch): Transport {
  return async (request) => {
    let response: Response;
    try {
      response = await fetchImpl(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body ?? null,
        credentials: 'same-origin',
      });
    } catch (error) {
      throw new NetworkFailure(error);
    }
    return {
      status: response.status,
      header: (name) => response.headers.get(name),
      json: () => response.json(),
      text: () => response.text(),
      blob: () => response.blob(),
    };
  };
}

export function xhrTransport(makeRequest: () => XMLHttpRequest = () => new XMLHttpRequest()): Transport {
  return (request) =>
    new Promise<RawResponse>((resolve, reject) => {
      const xhr = makeRequest();
      xhr.open(request.method, request.url);
      for (const [name, value] of Object.entries(request.headers)) xhr.setRequestHeader(name, value);
      if (request.onUploadProgress) {
        const report = request.onUploadProgress;
        xhr.upload.onprogress = (event) => report(event.loaded, event.lengthComputable ? event.total : 0);
      }
      xhr.onload = () => resolve(xhrResponse(xhr));
      xhr.onerror = () => reject(new NetworkFailure(new Error('XMLHttpRequest failed')));
      xhr.onabort = () => reject(new NetworkFailure(new Error('XMLHttpRequest aborted')));
      xhr.send((request.body ?? null) as XMLHttpRequestBodyInit | null);
    });
}

function xhrResponse(xhr: XMLHttpRequest): RawResponse {
  const text = String(xhr.responseText ?? '');
  return {
    status: xhr.status,
    header: (name) => xhr.getResponseHeader(name),
    json: async () => JSON.parse(text) as unknown,
    text: async () => text,
    blob: async () => new Blob([text], { type: xhr.getResponseHeader('Content-Type') ?? '' }),
  };
}
