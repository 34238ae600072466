/**
 * A local double of DeepL's text translation API
 * (https://developers.deepl.com/docs/api-reference/translate): `POST
 * /v2/translate` with `Authorization: DeepL-Auth-Key <key>` (403 and a JSON
 * `message` otherwise, as DeepL answers), a form-encoded or JSON body with
 * `text` (repeated), `source_lang`, `target_lang`, `formality`, `glossary_id`,
 * answering `{"translations":[{"detected_source_language","text"}]}`.
 *
 * It translates by a dictionary the test gives (unknown text comes back as
 * `[<TARGET>] <text>`). Faults: `ratelimit` (429), `quota` (456), `unavailable`
 * (503, DeepL's "temporary errors in the DeepL service"), `stall`
 * (never answers), `drop` (ends the connection mid-answer), `malformed`
 * (a 200 whose body is not the documented JSON).
 *
 * With `delays` (answer-delays.ts), a translation's response goes out a
 * planned delay after its request arrived, as DeepL's round trip takes;
 * close() clears the timers of answers still waiting.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AnswerDelays } from './answer-delays.js';

export type DeeplFault = 'none' | 'ratelimit' | 'quota' | 'unavailable' | 'stall' | 'drop' | 'malformed';

export interface DeeplRequestRecord {
  text: string[];
  sourceLang: string | undefined;
  targetLang: string | undefined;
  formality: string | undefined;
  glossaryId: string | undefined;
  contentType: string;
}

export class DeeplDouble {
  readonly requests: DeeplRequestRecord[] = [];
  fault: DeeplFault = 'none';
  rejected = 0;
  /** Translations answered (sent, after their delay). */
  answered = 0;
  readonly delays: AnswerDelays;
  readonly #server: Server;
  /** Delayed answers not sent yet: cleared on close, or when the client goes away first. */
  readonly #waiting = new Set<unknown>();
  readonly #sockets = new Set<Socket>();
  readonly #key: string;
  readonly #dictionary: Record<string, string>;

  private constructor(key: string, dictionary: Record<string, string>, delays: AnswerDelays) {
    this.#key = key;
    this.#dictionary = dictionary;
    this.delays = delays;
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
  }

  static async start(options: { authKey: string; dictionary?: Record<string, string>; /** How long answers take (default: profile none, at once). */ delays?: AnswerDelays }): Promise<DeeplDouble> {
    const d = new DeeplDouble(options.authKey, options.dictionary ?? {}, options.delays ?? new AnswerDelays());
    await new Promise<void>((resolve) => d.#server.listen(0, '127.0.0.1', resolve));
    return d;
  }

  get url(): string {
    const a = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}`;
  }

  async close(): Promise<void> {
    for (const handle of this.#waiting) this.delays.timers.clear(handle);
    this.#waiting.clear();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.startsWith('/v2/translate')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not found"}');
        return;
      }
      const expected = Buffer.from(`DeepL-Auth-Key ${this.#key}`);
      const given = Buffer.from(req.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        this.rejected++;
        res.writeHead(403, { 'content-type': 'application/json' }).end('{"message":"Wrong endpoint. Use https://api.deepl.com or check your auth key"}');
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const contentType = req.headers['content-type'] ?? '';
      let record: DeeplRequestRecord;
      if (contentType.includes('json')) {
        const j = JSON.parse(body) as { text?: string[]; source_lang?: string; target_lang?: string; formality?: string; glossary_id?: string };
        record = { text: j.text ?? [], sourceLang: j.source_lang, targetLang: j.target_lang, formality: j.formality, glossaryId: j.glossary_id, contentType };
      } else {
        const f = new URLSearchParams(body);
        record = {
          text: f.getAll('text'),
          sourceLang: f.get('source_lang') ?? undefined,
          targetLang: f.get('target_lang') ?? undefined,
          formality: f.get('formality') ?? undefined,
          glossaryId: f.get('glossary_id') ?? undefined,
          contentType,
        };
      }
      this.requests.push(record);
      switch (this.fault) {
        case 'stall':
          return;
        case 'drop':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"translations":[{"text":"');
          res.socket?.destroy();
          return;
        case 'ratelimit':
          res.writeHead(429, { 'content-type': 'application/json' }).end('{"message":"Too many requests"}');
          return;
        case 'unavailable':
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"Service unavailable"}');
          return;
        case 'quota':
          res.writeHead(456, { 'content-type': 'application/json' }).end('{"message":"Quota exceeded"}');
          return;
        case 'malformed':
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"translations": "nope"');
          return;
        case 'none':
          break;
      }
      if (record.text.length === 0 || record.targetLang === undefined) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"message":"Parameter \'text\' or \'target_lang\' not specified."}');
        return;
      }
      const target = record.targetLang.toUpperCase();
      const translations = record.text.map((t) => ({ detected_source_language: (record.sourceLang ?? 'EN').toUpperCase(), text: this.#dictionary[t] ?? `[${target}] ${t}` }));
      this.#answerAfter(this.delays.plan('deeplResponse'), res, () => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ translations }));
        this.answered++;
      });
    });
  }

  /** Answers at once for a zero delay (profile none), else when the delay has passed, unless the client left first. */
  #answerAfter(delayMs: number, res: ServerResponse, answer: () => void): void {
    if (delayMs <= 0) {
      answer();
      return;
    }
    const handle = this.delays.timers.set(() => {
      this.#waiting.delete(handle);
      res.off('close', gone);
      answer();
    }, delayMs);
    const gone = (): void => {
      this.delays.timers.clear(handle);
      this.#waiting.delete(handle);
    };
    this.#waiting.add(handle);
    res.once('close', gone);
  }
}
