/**
 * Request parameters as Asterisk reads them: from the query string, or from a
 * JSON body object whose keys other than `variables` count as query parameters;
 * `variables` only from the body. An empty value counts as absent (ast_strlen_zero).
 * allowMultiple parameters are comma lists (ari-client sends arrays as `a,b`).
 */
export interface RequestParams {
  readonly path: Readonly<Record<string, string>>;
  get(name: string): string | undefined;
  all(name: string): string[];
  readonly variables: Readonly<Record<string, string>> | undefined;
}

export class BodyError extends Error {
  override readonly name = 'BodyError';
  readonly code = 'ARI_BAD_BODY';
}

function scalar(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map((v) => scalar(v) ?? '').join(',');
  return undefined;
}

export function parseParams(path: Record<string, string>, query: URLSearchParams, rawBody: string): RequestParams {
  const values = new Map<string, string[]>();
  for (const [k, v] of query) {
    const list = values.get(k) ?? [];
    list.push(v);
    values.set(k, list);
  }
  let variables: Record<string, string> | undefined;
  if (rawBody.trim().length > 0) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawBody);
    } catch {
      throw new BodyError('Error parsing request body');
    }
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
        if (k === 'variables') {
          if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
            variables = {};
            for (const [vk, vv] of Object.entries(v as Record<string, unknown>)) {
              // 22.x also accepts { "value": "...", "report_events": true } per variable.
              const s =
                vv !== null && typeof vv === 'object' && !Array.isArray(vv)
                  ? scalar((vv as Record<string, unknown>)['value'])
                  : scalar(vv);
              if (s !== undefined) variables[vk] = s;
            }
          }
          continue;
        }
        const s = scalar(v);
        if (s !== undefined) values.set(k, [...(values.get(k) ?? []), s]);
      }
    }
  }
  return {
    path,
    variables,
    get(name) {
      const v = values.get(name)?.[0];
      return v === undefined || v.length === 0 ? undefined : v;
    },
    all(name) {
      return (values.get(name) ?? []).flatMap((v) => v.split(',')).filter((v) => v.length > 0);
    },
  };
}
