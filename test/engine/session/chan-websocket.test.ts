import { describe, expect, it } from 'vitest';
import { mediaStartInfo, parseControlMessage } from '../../../engine/src/session/chan-websocket.js';

describe("chan_websocket's control messages", () => {
  it('parses the plain-text MEDIA_START Asterisk sends (docs/asterisk-facts.md) into its fields', () => {
    const text = 'MEDIA_START connection_id:3b1c1f3e-8a0e-4f7e-9d11-2f6d0b0c9a51 channel:WebSocket/INCOMING/0x7f2a98009f40 channel_id:em_pair_001_A format:slin16 optimal_frame_size:640 ptime:20';
    const message = parseControlMessage(text);
    expect(message).toEqual({
      event: 'MEDIA_START',
      fields: {
        connection_id: '3b1c1f3e-8a0e-4f7e-9d11-2f6d0b0c9a51',
        channel: 'WebSocket/INCOMING/0x7f2a98009f40',
        channel_id: 'em_pair_001_A',
        format: 'slin16',
        optimal_frame_size: '640',
        ptime: '20',
      },
    });
    expect(mediaStartInfo(message!)).toEqual({
      connectionId: '3b1c1f3e-8a0e-4f7e-9d11-2f6d0b0c9a51',
      channel: 'WebSocket/INCOMING/0x7f2a98009f40',
      channelId: 'em_pair_001_A',
      format: 'slin16',
      optimalFrameSize: 640,
      ptimeMs: 20,
    });
  });

  it('parses bare events, correlation ids and the JSON format alike', () => {
    expect(parseControlMessage('MEDIA_XOFF')).toEqual({ event: 'MEDIA_XOFF', fields: {} });
    expect(parseControlMessage('MEDIA_XON\n')).toEqual({ event: 'MEDIA_XON', fields: {} });
    expect(parseControlMessage('MEDIA_BUFFERING_COMPLETED clip-7')).toEqual({ event: 'MEDIA_BUFFERING_COMPLETED', fields: { correlation_id: 'clip-7' } });
    expect(parseControlMessage('{"event":"MEDIA_XOFF","channel_id":"em_x"}')).toEqual({ event: 'MEDIA_XOFF', fields: { channel_id: 'em_x' } });
    expect(parseControlMessage('{"event":"STATUS","queue_length":3,"queue_full":false}')).toEqual({ event: 'STATUS', fields: { queue_length: '3', queue_full: 'false' } });
  });

  it('returns null for anything else and never throws', () => {
    for (const text of ['', 'HELLO', 'media_start', '{"event":"NOPE"}', '{', '[1,2]', 'null', '{"event":5}']) {
      expect(parseControlMessage(text)).toBeNull();
    }
  });

  it('says why a MEDIA_START is unusable', () => {
    expect(mediaStartInfo({ event: 'MEDIA_START', fields: { format: 'slin16', optimal_frame_size: '640' } })).toMatch(/connection_id/);
    expect(mediaStartInfo({ event: 'MEDIA_START', fields: { connection_id: 'x', format: 'opus', optimal_frame_size: '0' } })).toMatch(/optimal_frame_size/);
    expect(mediaStartInfo({ event: 'MEDIA_XON', fields: {} })).toMatch(/expected MEDIA_START/);
  });
});
