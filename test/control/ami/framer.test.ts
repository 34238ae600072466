import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AmiFramer, AmiParseError } from '../../../control/src/ami/index.js';
import { recordedChunks, recordedMessages } from './support.js';

const scenarios = ['s7_ami', 's7b_ami_failed_login_security_event'] as const;

function expectedFrames(scenario: (typeof scenarios)[number], conn: string): string[] {
  return recordedMessages(scenario)
    .filter((m) => m.conn === conn && (m.kind === 'banner' || m.kind === 'response' || m.kind === 'event'))
    .map((m) => m.raw as string);
}

describe('AmiFramer on the recorded TCP reads', () => {
  for (const scenario of scenarios) {
    const chunks = recordedChunks(scenario);
    const conns = [...new Set(chunks.map((c) => c.conn))];
    for (const conn of conns) {
      it(`${scenario}/${conn}: the reads as received split into exactly the recorded banner and messages`, () => {
        const framer = new AmiFramer();
        const frames = chunks.filter((c) => c.conn === conn).flatMap((c) => framer.push(c.bytes));
        expect(frames[0]?.kind).toBe('banner');
        expect(frames[0]?.kind === 'banner' ? frames[0].version : '').toBe('11.0.0');
        expect(frames.map((f) => f.raw)).toEqual(expectedFrames(scenario, conn));
        expect(framer.pending).toBe(0);
      });
    }
  }

  it('any re-chunking of the main connection gives the same frames', () => {
    const stream = recordedChunks('s7_ami')
      .filter((c) => c.conn === 'main')
      .map((c) => c.bytes)
      .join('');
    const expected = expectedFrames('s7_ami', 'main');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 40 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const framer = new AmiFramer();
        const frames = [];
        let last = 0;
        for (const p of [...points, stream.length]) {
          frames.push(...framer.push(stream.slice(last, p)));
          last = p;
        }
        expect(frames.map((f) => f.raw)).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects a peer that is not AMI, and an endless message', () => {
    expect(() => new AmiFramer().push('HTTP/1.1 400 Bad Request\r\n')).toThrowError(expect.objectContaining({ code: 'AMI_BAD_BANNER' }) as Error);
    const framer = new AmiFramer({ maxFrameChars: 2048 });
    framer.push('Asterisk Call Manager/11.0.0\r\n');
    const frames = framer.push(`Event: A\r\n\r\nEvent: X\r\nData: ${'x'.repeat(4096)}`);
    expect(frames.map((f) => f.raw)).toEqual(['Event: A\r\n\r\n']);
    expect(framer.overflow?.code).toBe('AMI_FRAME_TOO_LARGE');
    expect(() => framer.push('\r\n\r\n')).toThrow(AmiParseError);
  });

  it('server side (no banner) splits actions and ignores stray blank lines', () => {
    const framer = new AmiFramer({ expectBanner: false });
    const frames = framer.push('\r\nAction: Ping\r\nActionID: 1\r\n\r\n\r\nAction: Logoff\r\n\r\n');
    expect(frames.map((f) => f.raw)).toEqual(['Action: Ping\r\nActionID: 1\r\n\r\n', 'Action: Logoff\r\n\r\n']);
  });
});
