/**
 * Which espeak-ng voice speaks a BCP 47 language tag: the voice table
 * `espeak-ng --voices` lists (read and parsed here), and the rules that pick from it.
 */
import { spawn } from 'node:child_process';
import { ProviderError } from './types.js';

/** espeak-ng voice names by lower-case language tag, built from `espeak-ng --voices`. */
export type VoiceTable = ReadonlyMap<string, string>;

/** Deadline for `espeak-ng --voices` (connect), whatever a synthesis call's timeout is. */
const VOICE_LIST_TIMEOUT_MS = 10_000;

const TAG_PATTERN = /^[a-z]{2,3}(-[a-z0-9]{1,8})*$/;

/** Regions espeak-ng has no voice for, where the language fallback would pick the wrong variety. */
const REGION_VOICES: Readonly<Record<string, string>> = {
  'en-ca': 'en-us',
  'zh-hk': 'yue',
  'zh-mo': 'yue',
};

/**
 * Parses `espeak-ng --voices` ("Pty Language Age/Gender VoiceName File Other
 * Languages"): every language code names its own voice; the "(code priority)"
 * aliases point at the voice with the best (lowest) priority, e.g. en → en-gb,
 * es-mx → es-419, zh → cmn, no → nb.
 */
export function parseVoiceList(text: string): VoiceTable {
  const exact = new Map<string, string>();
  const aliases = new Map<string, { voice: string; priority: number }>();
  for (const line of text.split('\n')) {
    const m = /^\s*\d+\s+(\S+)\s+\S+\s+\S+\s+\S+(.*)$/.exec(line);
    if (!m) continue;
    const voice = m[1]!.toLowerCase();
    if (!TAG_PATTERN.test(voice)) continue;
    if (!exact.has(voice)) exact.set(voice, voice);
    for (const alias of m[2]!.matchAll(/\(([a-z0-9-]+)\s+(\d+)\)/gi)) {
      const code = alias[1]!.toLowerCase();
      const priority = Number(alias[2]);
      const known = aliases.get(code);
      if (known === undefined || priority < known.priority) aliases.set(code, { voice, priority });
    }
  }
  const table = new Map<string, string>();
  for (const [code, { voice }] of aliases) table.set(code, voice);
  for (const [code, voice] of exact) table.set(code, voice);
  return table;
}

/**
 * The espeak-ng voice for a BCP 47 tag: the whole tag, then regional rules
 * (Spanish outside Spain → es-419), then ever shorter prefixes (fr-CA → fr,
 * zh-Hans-CN → zh). ProviderError `unsupported_language` when nothing fits.
 */
export function resolveVoice(table: VoiceTable, tag: string, overrides: Readonly<Record<string, string>> = {}): string {
  const norm = tag.trim().toLowerCase().replace(/_/g, '-');
  for (const [key, voice] of Object.entries(overrides)) if (key.toLowerCase() === norm) return voice;
  if (!TAG_PATTERN.test(norm)) throw new ProviderError('unsupported_language', `not a language tag: ${JSON.stringify(tag.slice(0, 40))}`);
  const subtags = norm.split('-');
  const primary = subtags[0]!;
  const region = subtags.slice(1).find((s) => /^([a-z]{2}|\d{3})$/.test(s));
  const candidates: string[] = [norm];
  if (region !== undefined) {
    const regional = REGION_VOICES[`${primary}-${region}`];
    if (regional !== undefined) candidates.push(regional);
    candidates.push(`${primary}-${region}`);
    if (primary === 'es' && region !== 'es') candidates.push('es-419');
  }
  for (let i = subtags.length - 1; i >= 1; i--) candidates.push(subtags.slice(0, i).join('-'));
  for (const candidate of candidates) {
    const voice = table.get(candidate);
    if (voice !== undefined) return voice;
  }
  throw new ProviderError('unsupported_language', `espeak-ng has no voice for ${JSON.stringify(tag)}`);
}

/**
 * Runs `espeak-ng --voices` and parses its table; rejects with `unavailable` when espeak-ng cannot run
 * or lists no voices. `callTimeoutMs` is a synthesis call's deadline: the listing may take longer.
 */
export async function loadVoiceTable(callTimeoutMs: number): Promise<VoiceTable> {
  const text = await new Promise<string>((resolve, reject) => {
    const child = spawn('espeak-ng', ['--voices'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    // Listing voices is a one-off at connect: it gets its own generous deadline, not a synthesis call's.
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(callTimeoutMs, VOICE_LIST_TIMEOUT_MS));
    child.stdout.on('data', (chunk: Buffer) => {
      if (out.length < 1_000_000) out += chunk.toString('utf8');
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new ProviderError('unavailable', `espeak-ng cannot run: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new ProviderError('unavailable', `espeak-ng --voices exited with ${code ?? signal}`));
    });
  });
  const table = parseVoiceList(text);
  if (table.size === 0) throw new ProviderError('unavailable', 'espeak-ng lists no voices');
  return table;
}
