/** Text lines for `tandem transcripts`: one per final. */

export interface PrintableTranscript {
  startMs: number;
  srcExt: string;
  dstExt: string;
  language: string;
  targetLanguage: string;
  text: string;
  translatedText: string | null;
}

/** `mm:ss.d` of an offset on the call's audio timeline (`h:mm:ss.d` from one hour on). */
export function formatOffset(ms: number): string {
  const tenths = Math.floor(Math.max(0, ms) / 100);
  const seconds = Math.floor(tenths / 10);
  const ss = `${String(seconds % 60).padStart(2, '0')}.${tenths % 10}`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${String(minutes).padStart(2, '0')}:${ss}`;
  return `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, '0')}:${ss}`;
}

/**
 * `00:03.2  7000 (en) → 7001 (es): "hello" ⇒ "hola"`. Texts are JSON-quoted: a
 * transcript is someone's speech run through a provider, and must never reach a
 * terminal as raw control characters (escape sequences, carriage returns).
 */
export function formatTranscriptLine(t: PrintableTranscript): string {
  const translated = t.translatedText === null ? '' : ` ⇒ ${quote(t.translatedText)}`;
  return `${formatOffset(t.startMs)}  ${printable(t.srcExt)} (${printable(t.language)}) → ${printable(t.dstExt)} (${printable(t.targetLanguage)}): ${quote(t.text)}${translated}`;
}

// JSON.stringify leaves DEL, the C1 controls (U+009B is a CSI on some terminals),
// the line separators and the bidi overrides as they are: escape those too.
const UNSAFE_AFTER_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** A JSON string literal that is also safe to print. */
export function quote(s: string): string {
  return JSON.stringify(s).replace(UNSAFE_AFTER_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Short fields (validated on the way in, but read from a table others may write): unsafe characters become "?". */
export function printable(s: string): string {
  return s.replace(UNSAFE, '?');
}
