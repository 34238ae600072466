/**
 * The URL with its password (if any) replaced by `***`, for logs and messages:
 * `redis://:pw@host:6379/0` → `redis://:***@host:6379/0`. Parsed, not matched
 * with a pattern, so an empty user name or an `@` in the password cannot slip
 * through. Something that is not a URL is shown as `[invalid url]`.
 */
export function redactUrlPassword(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '[invalid url]';
  }
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
}
