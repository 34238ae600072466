import { describe, expect, it } from 'vitest';
import { SetupObserver, classifyAriRequest, type ServedRequest } from '../../../tools/call-load/index.js';

const served = (method: string, url: string, startedAt: number, finishedAt = startedAt + 1, status = method === 'DELETE' || url.includes('addChannel') || url.includes('/variable') ? 204 : 200): ServedRequest => ({
  method,
  url,
  status,
  startedAt,
  finishedAt,
});

/** The requests Tandem makes for one call on `pair`, as ari-client sends them (recorded from a run), at times from `t`. */
function setupRequests(pair: string, caller: string, t: number): ServedRequest[] {
  return [
    served('POST', `/ari/bridges?type=mixing&bridgeId=brg_${pair}_A&name=brg_${pair}_A`, t + 1),
    served('POST', `/ari/bridges?type=mixing&bridgeId=brg_${pair}_B&name=brg_${pair}_B`, t + 2),
    served('POST', `/ari/channels?endpoint=PJSIP%2F7001&app=pair_session&appArgs=${pair}%2C7000%2C7001&callerId=900001&timeout=30&channelId=chan_${pair}_B`, t + 3),
    served('POST', `/ari/channels/${caller}/variable?variable=PAIR_ID&value=${pair}`, t + 4),
    served('POST', `/ari/channels/${caller}/variable?variable=SRC_EXT&value=7000`, t + 5),
    served('POST', `/ari/channels/externalMedia?channelId=em_${pair}_A&app=pair_session&external_host=127.0.0.1%3A31000&format=ulaw`, t + 6),
    served('POST', `/ari/channels/externalMedia?channelId=em_${pair}_B&app=pair_session&external_host=127.0.0.1%3A31001&format=ulaw`, t + 8),
    served('POST', `/ari/bridges/brg_${pair}_B/addChannel?channel=chan_${pair}_B`, t + 10),
    served('POST', `/ari/bridges/brg_${pair}_A/addChannel?channel=${encodeURIComponent(`${caller},em_${pair}_A`)}`, t + 12),
    served('POST', `/ari/bridges/brg_${pair}_B/addChannel?channel=em_${pair}_B`, t + 14),
  ];
}

describe('classifyAriRequest', () => {
  it('names the operation and its target from what ari-client sends', () => {
    expect(classifyAriRequest('POST', '/ari/bridges?type=mixing&bridgeId=brg_p_A&name=brg_p_A')).toMatchObject({ op: 'createBridge', target: 'brg_p_A' });
    expect(classifyAriRequest('POST', '/ari/channels?endpoint=PJSIP%2F7001&channelId=chan_p_B')).toMatchObject({ op: 'originate', target: 'chan_p_B' });
    expect(classifyAriRequest('POST', '/ari/channels/externalMedia?channelId=em_p_A&format=ulaw')).toMatchObject({ op: 'externalMedia', target: 'em_p_A' });
    const add = classifyAriRequest('POST', '/ari/bridges/brg_p_A/addChannel?channel=1.0%2Cem_p_A');
    expect(add).toMatchObject({ op: 'addChannel', target: 'brg_p_A' });
    expect(add.query.get('channel')).toBe('1.0,em_p_A');
    expect(classifyAriRequest('POST', '/ari/channels/1.0/variable?variable=PAIR_ID&value=p')).toMatchObject({ op: 'setVariable', target: '1.0' });
    const hangup = classifyAriRequest('DELETE', '/ari/channels/1.0?reason=congestion');
    expect(hangup).toMatchObject({ op: 'hangup', target: '1.0' });
    expect(hangup.query.get('reason')).toBe('congestion');
    expect(classifyAriRequest('DELETE', '/ari/bridges/brg_p_B')).toMatchObject({ op: 'destroyBridge', target: 'brg_p_B' });
    expect(classifyAriRequest('GET', '/ari/channels').op).toBe('read');
    expect(classifyAriRequest('POST', '/ari/channels/1.0/answer').op).toBe('other');
    expect(classifyAriRequest('PUT', '/elsewhere').op).toBe('other');
  });
});

describe('SetupObserver', () => {
  it("times each setup step of a call from the requests served and its legs' first RTP, and tells Tandem's view of the call", () => {
    const media = new Map<string, { sent: number; received: number }>();
    const seen: string[] = [];
    const observer = new SetupObserver({ media: (id) => media.get(id) });
    observer.setListener({
      legBOriginated: (pair, callerId, at) => seen.push(`originated ${pair} for ${callerId} @${at}`),
      pairMapped: (caller, pair, at) => seen.push(`mapped ${caller} ${pair} @${at}`),
      pairBridged: (pair, at) => seen.push(`bridged ${pair} @${at}`),
      channelHungUp: (channel, reason) => seen.push(`hangup ${channel} ${reason}`),
    });
    for (const r of setupRequests('pair_001', '1.0', 100)) observer.served(r);
    // Bridged = the last of the three joins (externalMedia B, served at 115).
    expect(seen).toEqual(['originated pair_001 for 900001 @104', 'mapped 1.0 pair_001 @105', 'bridged pair_001 @115']);
    // The engine sends on leg A (relaying leg B) before the simulator sends there: each first is its own mark.
    media.set('em_pair_001_A', { sent: 0, received: 1 });
    media.set('em_pair_001_B', { sent: 1, received: 0 });
    observer.pollMedia('pair_001', 120);
    media.set('em_pair_001_A', { sent: 1, received: 3 });
    media.set('em_pair_001_B', { sent: 2, received: 1 });
    observer.pollMedia('pair_001', 130);
    observer.callSetUp('pair_001', 100);
    const steps = observer.stepHistograms();
    const at = (step: Parameters<typeof steps.get>[0]): number => steps.get(step)!.max;
    expect(at('first_request')).toBeCloseTo(1, 1);
    expect(at('bridges_created')).toBeCloseTo(3, 1);
    expect(at('originate_served')).toBeCloseTo(4, 1);
    expect(at('external_media_served')).toBeCloseTo(9, 1);
    expect(at('legb_bridged')).toBeCloseTo(11, 1);
    expect(at('caller_bridged')).toBeCloseTo(13, 1);
    expect(at('media_b_bridged')).toBeCloseTo(15, 1);
    expect(at('rtp_to_engine')).toBeCloseTo(30, 1);
    expect(at('rtp_from_engine')).toBeCloseTo(30, 1);
    observer.served(served('DELETE', '/ari/channels/1.0?reason=congestion', 200));
    expect(seen.at(-1)).toBe('hangup 1.0 congestion');
    const ops = observer.opStats();
    expect(ops).toMatchObject({ createBridge: { count: 2 }, originate: { count: 1 }, setVariable: { count: 2 }, externalMedia: { count: 2 }, addChannel: { count: 3 }, hangup: { count: 1 } });
    expect(ops.createBridge?.server_p50_ms).toBeCloseTo(1, 1);
  });

  it("a pair's teardown ends its marks: the next call on the pair is timed from its own requests", () => {
    const observer = new SetupObserver({ media: () => ({ sent: 1, received: 1 }) });
    for (const r of setupRequests('pair_001', '1.0', 0)) observer.served(r);
    observer.served(served('DELETE', '/ari/bridges/brg_pair_001_A', 50));
    observer.served(served('DELETE', '/ari/bridges/brg_pair_001_B', 51));
    // The second call: placed at 1000, Tandem's first request 20 ms later.
    for (const r of setupRequests('pair_001', '2.0', 1019)) observer.served(r);
    observer.pollMedia('pair_001', 1040);
    observer.callSetUp('pair_001', 1000);
    const steps = observer.stepHistograms();
    expect(steps.get('first_request')!.count).toBe(1);
    expect(steps.get('first_request')!.max).toBeCloseTo(20, 1);
    expect(steps.get('rtp_from_engine')!.max).toBeCloseTo(40, 1);
  });

  it('a step that failed (not 2xx) leaves the call without that step', () => {
    const observer = new SetupObserver({ media: () => undefined });
    const requests = setupRequests('pair_002', '3.0', 0).map((r) => (r.url.includes('externalMedia?channelId=em_pair_002_B') ? { ...r, status: 500 } : r));
    for (const r of requests) observer.served(r);
    observer.callSetUp('pair_002', 0);
    const steps = observer.stepHistograms();
    expect(steps.get('external_media_served')!.count).toBe(0);
    expect(steps.get('bridges_created')!.count).toBe(1);
    expect(steps.get('rtp_to_engine')!.count).toBe(0);
  });
});
