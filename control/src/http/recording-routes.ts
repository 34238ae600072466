import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.js';

export interface RecordingLookup {
  /** The file of that record's recording, or null (no such record, not recorded, not yet complete). */
  pathOf(recordId: string): Promise<string | null>;
}

/**
 * Finds a recording through the call records (memory, else PostgreSQL: so it is found after a restart),
 * serving only files inside this node's recording directory: a record written by another node sharing the
 * database names a path on that node, and a path elsewhere is never opened whatever a row says.
 */
export function recordsRecordingLookup(
  records: { get(id: string): Promise<{ call: { recording: { path: string } | null } | null }> },
  recordDir: string | null,
): RecordingLookup {
  const root = recordDir === null ? null : resolve(recordDir);
  return {
    pathOf: async (recordId) => {
      if (root === null) return null;
      const path = (await records.get(recordId)).call?.recording?.path;
      if (path === undefined) return null;
      const file = resolve(path);
      return file.startsWith(root + sep) ? file : null;
    },
  };
}

const CONTENT_TYPES: Record<string, string> = { opus: 'audio/ogg', wav: 'audio/wav' };

/**
 * GET /v1/calls/:id/recording: a finished call's recording (Ogg/Opus or WAV), for the console's player
 * and for download. Authenticated like every API route (the console's session cookie opens GETs). One
 * byte range (`Range: bytes=a-b`, `a-`, `-n`) is answered 206, so a player can seek.
 */
export function registerRecordingRoutes(app: FastifyInstance, options: { recordings: RecordingLookup }): void {
  app.get<{ Params: { id: string } }>('/v1/calls/:id/recording', async (request, reply) => {
    const path = await options.recordings.pathOf(request.params.id);
    const size = path === null ? null : await stat(path).then((s) => (s.isFile() ? s.size : null), () => null);
    if (path === null || size === null) throw new ApiError(404, 'NOT_FOUND', 'no recording of that call on this node');
    const type = CONTENT_TYPES[path.slice(path.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
    const name = path.slice(path.lastIndexOf('/') + 1);
    reply.headers({ 'accept-ranges': 'bytes', 'content-type': type, 'content-disposition': `inline; filename="${name}"`, 'cache-control': 'no-store' });
    const range = parseRange(request.headers.range, size);
    if (range === 'unsatisfiable') {
      return reply.code(416).header('content-range', `bytes */${size}`).send();
    }
    if (range === null) return reply.header('content-length', size).send(createReadStream(path));
    const [start, end] = range;
    return reply
      .code(206)
      .headers({ 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1 })
      .send(createReadStream(path, { start, end }));
  });
}

/** One `bytes=` range, inclusive; null for none (or one we do not serve, answered whole). */
export function parseRange(header: string | undefined, size: number): [number, number] | null | 'unsatisfiable' {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return [start, end];
}
