import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AmiParseError, encodeAction, parseAmiMessage, serializeAmiMessage } from '../../../control/src/ami/index.js';
import { recordedMessages } from './support.js';

const scenarios = ['s7_ami', 's7b_ami_failed_login_security_event', 's8_realtime'] as const;

describe('parseAmiMessage on real Asterisk 22.10.1 recordings', () => {
  for (const scenario of scenarios) {
    const received = recordedMessages(scenario).filter((m) => m.kind === 'response' || m.kind === 'event');
    const sent = recordedMessages(scenario).filter((m) => m.kind === 'sent_action');

    it(`${scenario}: every received message parses to the recorded fields, in order, repeated keys kept (${received.length} messages)`, () => {
      expect(received.length).toBeGreaterThan(5);
      for (const m of received) {
        const parsed = parseAmiMessage(m.raw as string);
        expect(parsed.fields.map(([k, v]) => [k, v])).toEqual(m.fields);
      }
    });

    it(`${scenario}: serialize(parse(raw)) reproduces the exact bytes`, () => {
      for (const m of [...received, ...sent]) {
        expect(serializeAmiMessage(parseAmiMessage(m.raw as string).fields)).toBe(m.raw);
      }
    });
  }

  it('keeps every Output line of a Command answer, including empty ones, in order', () => {
    const cmd = recordedMessages('s7_ami').find((m) => m.raw?.includes('ActionID: tnd-9\r\nMessage: Command output follows'));
    const parsed = parseAmiMessage(cmd?.raw as string);
    const outputs = parsed.getAll('Output');
    expect(outputs.length).toBe(cmd?.fields?.filter(([k]) => k === 'Output').length);
    expect(outputs[0]).toBe('');
    expect(outputs[12]).toBe(' Endpoint:  7000/7000                                            Unavailable   0 of inf');
    expect(parsed.get('output')).toBe('');
    expect(parsed.toMap().get('Output')).toEqual(outputs);
  });

  it('keeps the bare \\n that ends "No Contacts found"', () => {
    const parsed = parseAmiMessage('Response: Error\r\nActionID: tnd-6\r\nMessage: No Contacts found\n\r\n\r\n');
    expect(parsed.get('Message')).toBe('No Contacts found\n');
    expect(parsed.kind).toBe('response');
    expect(parsed.actionId).toBe('tnd-6');
  });

  it('rejects lines without a separator with a coded error', () => {
    expect(() => parseAmiMessage('Response: Success\r\ngarbage\r\n\r\n')).toThrow(AmiParseError);
    expect(() => parseAmiMessage('no separator here')).toThrowError(expect.objectContaining({ code: 'AMI_BAD_LINE' }) as Error);
    expect(() => parseAmiMessage('\r\n\r\n')).toThrowError(expect.objectContaining({ code: 'AMI_EMPTY_MESSAGE' }) as Error);
    expect(() => parseAmiMessage('')).toThrow(AmiParseError);
  });

  it('require() names the missing field with a code', () => {
    const m = parseAmiMessage('Event: X\r\n\r\n');
    expect(() => m.require('URI')).toThrowError(expect.objectContaining({ code: 'AMI_MISSING_FIELD' }) as Error);
  });

  it('encodeAction refuses line breaks in values (no field injection)', () => {
    expect(encodeAction('Command', [['Command', 'core show uptime']], 'x-1')).toBe('Action: Command\r\nCommand: core show uptime\r\nActionID: x-1\r\n\r\n');
    expect(() => encodeAction('Command', [['Command', 'a\r\nAction: Logoff']], 'x-2')).toThrowError(
      expect.objectContaining({ code: 'AMI_BAD_FIELD' }) as Error,
    );
    expect(() => encodeAction('Command', [['Command', 'a\nb']], 'x-3')).toThrow(AmiParseError);
    expect(() => serializeAmiMessage([['Bad:Key', 'v']])).toThrow(AmiParseError);
  });

  it('random input never throws anything but AmiParseError', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'B', ':', ' ', '\r', '\n', '\r\n', 'é', '0') , maxLength: 60 }), (s) => {
        try {
          parseAmiMessage(s);
        } catch (err) {
          expect(err).toBeInstanceOf(AmiParseError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('serialize then parse is the identity for valid field lists (repeated keys included)', () => {
    const key = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,12}$/);
    const value = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', ':', ': ', '/', '\n', 'é', '9'), maxLength: 20 });
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 8 }), (fields) => {
        // A value that ends the message early ("x\n" last is fine; CRLF is refused) must round-trip exactly.
        const wire = serializeAmiMessage(fields);
        expect(parseAmiMessage(wire).fields).toEqual(fields);
      }),
      { numRuns: 1000 },
    );
  });
});
