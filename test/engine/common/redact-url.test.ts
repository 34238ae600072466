import { describe, expect, it } from 'vitest';
import { redactUrlPassword } from '../../../common/src/redact-url.js';

describe('redactUrlPassword', () => {
  it('hides the password of any URL, also with an empty user name or an @ inside it', () => {
    expect(redactUrlPassword('redis://:s3cret@127.0.0.1:6379/0')).toBe('redis://:***@127.0.0.1:6379/0');
    expect(redactUrlPassword('postgres://tandem:p@ss@db:5432/tandem')).toBe('postgres://tandem:***@db:5432/tandem');
    expect(redactUrlPassword('http://tandem:pw@127.0.0.1:8088')).toBe('http://tandem:***@127.0.0.1:8088');
  });

  it('leaves a URL without a password as it was, and hides what is not a URL', () => {
    expect(redactUrlPassword('http://127.0.0.1:8088')).toBe('http://127.0.0.1:8088');
    expect(redactUrlPassword('postgres://postgres@127.0.0.1:5432/tandem')).toBe('postgres://postgres@127.0.0.1:5432/tandem');
    expect(redactUrlPassword('not a url with secret')).toBe('[invalid url]');
  });
});
