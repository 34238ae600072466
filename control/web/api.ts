/** Talking to the node: same origin, the session cookie does the authentication. */

export class Unauthorized extends Error {}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (res.status === 401) throw new Unauthorized('not logged in');
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A change: the X-Tandem-Console header is what lets the session cookie stand in for the token. */
export async function send(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<Response> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: { 'x-tandem-console': '1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) } };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(path, init);
  if (res.status === 401) throw new Unauthorized('not logged in');
  return res;
}

/** The page's one live stream; the handlers get each event's parsed data. */
export function stream(path: string, handlers: Record<string, (data: unknown) => void>, onError?: () => void): () => void {
  const source = new EventSource(path, { withCredentials: true });
  for (const [event, handle] of Object.entries(handlers)) source.addEventListener(event, (e) => handle(JSON.parse((e as MessageEvent<string>).data)));
  if (onError) source.addEventListener('error', onError);
  return () => source.close();
}
