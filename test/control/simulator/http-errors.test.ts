/**
 * Authentication and error shapes, replayed from the raw HTTP exchanges
 * recorded with curl against Asterisk 22.10.1 (s6 curl_raw.txt): status line,
 * the headers Asterisk sends and the body, byte for byte where nothing varies.
 */
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AsteriskSimulator } from '../../../tools/asterisk-simulator/index.js';
import { DATA_DIR, normalize } from './replay.js';
import { EventSocket, rest } from './helpers.js';

interface CurlExchange {
  command: string;
  method: string;
  path: string;
  auth: string | undefined;
  headers: Record<string, string>;
  body: string | undefined;
  status: number;
  reason: string;
  responseHeaders: Array<[string, string]>;
  responseBody: string;
}

function parseCurlRaw(text: string): CurlExchange[] {
  return text
    .split(/^### /m)
    .filter((b) => b.trim().length > 0)
    .map((block) => {
      const lines = block.split('\n');
      const command = (lines[0] ?? '').replace(/^\S+ /, '');
      const tokens = command.split(' ');
      let method = 'GET';
      let auth: string | undefined;
      let body: string | undefined;
      const headers: Record<string, string> = {};
      let url = '';
      for (let i = 1; i < tokens.length; i++) {
        const t = tokens[i] ?? '';
        if (t === '-X') method = tokens[++i] ?? 'GET';
        else if (t === '-u') auth = tokens[++i];
        else if (t === '-d') body = tokens[++i];
        else if (t === '-H') {
          const name = (tokens[++i] ?? '').replace(/:$/, '');
          // `-H Authorization:` makes curl drop the header; `-H Content-Type: application/json` sets it.
          const next = tokens[i + 1] ?? '';
          if (!next.startsWith('http') && !next.startsWith('-')) headers[name] = tokens[++i] ?? '';
        } else if (t.startsWith('http')) url = t;
      }
      const statusLine = (lines[1] ?? '').trim();
      const m = /^HTTP\/1\.1 (\d{3}) (.*)$/.exec(statusLine);
      const responseHeaders: Array<[string, string]> = [];
      let i = 2;
      for (; i < lines.length && (lines[i] ?? '').trim() !== ''; i++) {
        const line = (lines[i] ?? '').replace(/\r$/, '');
        const c = line.indexOf(':');
        responseHeaders.push([line.slice(0, c), line.slice(c + 1).trim()]);
      }
      const responseBody = lines.slice(i + 1).join('\n').trim();
      return {
        command,
        method,
        path: url.replace('http://127.0.0.1:8088', ''),
        auth,
        headers,
        body,
        status: Number(m?.[1]),
        reason: m?.[2] ?? '',
        responseHeaders,
        responseBody,
      };
    });
}

interface RawResponse {
  status: number;
  reason: string;
  rawHeaders: Array<[string, string]>;
  body: string;
}

function rawRequest(base: string, ex: { method: string; path: string; headers: Record<string, string>; body?: string | undefined }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${ex.path}`, { method: ex.method, headers: ex.headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = res.rawHeaders;
        const pairs: Array<[string, string]> = [];
        for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i] ?? '', raw[i + 1] ?? '']);
        resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', rawHeaders: pairs, body: Buffer.concat(chunks).toString() });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (ex.body !== undefined) req.write(ex.body);
    req.end();
  });
}

let sim: AsteriskSimulator;
beforeEach(async () => {
  sim = await AsteriskSimulator.start({ username: 'tnd', password: 'tnd' });
});
afterEach(async () => {
  await sim.close();
});

describe('s6: recorded curl exchanges', () => {
  const exchanges = parseCurlRaw(readFileSync(`${DATA_DIR}s6_error_shapes_curl/curl_raw.txt`, 'utf8'));

  it('parses the recording', () => {
    expect(exchanges.length).toBe(20);
  });

  it('answers every recorded request with the recorded status line, headers and body', async () => {
    const problems: string[] = [];
    for (const ex of exchanges) {
      const headers: Record<string, string> = { ...ex.headers };
      if (ex.auth !== undefined) headers['Authorization'] = `Basic ${Buffer.from(ex.auth).toString('base64')}`;
      const res = await rawRequest(sim.ariUrl, { method: ex.method, path: ex.path, headers, body: ex.body });
      const where = ex.command;
      if (res.status !== ex.status || res.reason !== ex.reason) problems.push(`${where}: ${res.status} ${res.reason} != ${ex.status} ${ex.reason}`);
      // Same header names in the same order, same values except Date (and lengths of bodies with ports/pointers).
      const names = (h: Array<[string, string]>): string[] => h.map(([k]) => k);
      if (JSON.stringify(names(res.rawHeaders)) !== JSON.stringify(names(ex.responseHeaders))) {
        problems.push(`${where}: headers ${names(res.rawHeaders).join(',')} != ${names(ex.responseHeaders).join(',')}`);
      }
      const variable = ex.responseBody.includes('UnicastRTP') || ex.responseBody.includes('creationtime');
      for (const [k, v] of ex.responseHeaders) {
        if (k === 'Date' || (k === 'Content-Length' && variable)) continue;
        const ours = res.rawHeaders.find(([n]) => n === k)?.[1];
        if (ours !== v) problems.push(`${where}: header ${k}: ${ours} != ${v}`);
      }
      const norm = (s: string): unknown => (s.length === 0 ? '' : normalize(JSON.parse(s), new Map()));
      if (JSON.stringify(norm(res.body)) !== JSON.stringify(norm(ex.responseBody))) problems.push(`${where}: body ${res.body} != ${ex.responseBody}`);
    }
    expect(problems).toEqual([]);
  });
});

describe('authentication', () => {
  it('is checked per request on a keep-alive connection (s6 auth_keepalive_probe)', async () => {
    expect((await rest(sim.ariUrl, 'GET', '/channels', { auth: null })).status).toBe(401);
    expect((await rest(sim.ariUrl, 'GET', '/channels')).status).toBe(200);
    const again = await rest(sim.ariUrl, 'GET', '/channels', { auth: null });
    expect(again.status).toBe(401);
    expect(again.json).toEqual({ message: 'Authentication required' });
    expect(again.headers.get('www-authenticate')).toBe('Basic realm="Asterisk REST Interface"');
  });

  it('protects the api-docs and the event WebSocket', async () => {
    expect((await rest(sim.ariUrl, 'GET', '/api-docs/resources.json', { auth: null })).status).toBe(401);
    await expect(EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'bad')).rejects.toThrow(/401/);
    const ws = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
    expect(sim.isAppConnected('pair_session')).toBe(true);
    await ws.close();
  });
});

describe('validation as Asterisk does it', () => {
  it('missing required parameters give the resource-specific 400 messages', async () => {
    const cases: Array<[string, string, string]> = [
      ['POST', '/channels?app=pair_session', 'Endpoint must be specified'],
      ['POST', '/channels/externalMedia?app=pair_session&external_host=127.0.0.1:47012', 'format cannot be empty'],
      ['POST', '/channels/externalMedia?external_host=127.0.0.1:47014&format=ulaw', 'app cannot be empty'],
      ['POST', '/channels/externalMedia?app=pair_session&format=ulaw', 'external_host is required for all but websocket server connections'],
      ['POST', '/channels/externalMedia?app=pair_session&external_host=not_a_host&format=ulaw', 'external_host must be <host>:<port> for all transports other than websocket'],
    ];
    for (const [method, path, message] of cases) {
      const r = await rest(sim.ariUrl, method, path);
      expect([path, r.status, r.json]).toEqual([path, 400, { message }]);
    }
  });

  it('channel-level errors: variable, mute direction, unknown channel, unknown path, wrong method', async () => {
    const ws = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
    const call = sim.placeCall({ callerNumber: 'sipp' });
    const id = call.channelId;
    expect((await rest(sim.ariUrl, 'POST', `/channels/${id}/variable?value=x`)).json).toEqual({ message: 'Variable name is required' });
    expect((await rest(sim.ariUrl, 'GET', `/channels/${id}/variable`)).json).toEqual({ message: 'Variable name is required' });
    const unset = await rest(sim.ariUrl, 'GET', `/channels/${id}/variable?variable=NOT_SET_VAR`);
    expect([unset.status, unset.statusText, unset.json]).toEqual([404, 'Variable Not Found', { message: 'Provided variable was not found' }]);
    const mute = await rest(sim.ariUrl, 'POST', `/channels/${id}/mute?direction=sideways`);
    expect([mute.status, mute.json]).toEqual([400, { message: 'Invalid direction specified' }]);
    expect((await rest(sim.ariUrl, 'POST', '/channels/nope/mute?direction=in')).status).toBe(404);
    expect((await rest(sim.ariUrl, 'POST', `/channels/${id}/answer?bogus_param=1`)).status).toBe(204);
    const bad = await rest(sim.ariUrl, 'DELETE', `/channels/${id}?reason=sideways`);
    expect([bad.status, bad.json]).toEqual([400, { message: 'Invalid reason for hangup provided' }]);
    const unknown = await rest(sim.ariUrl, 'GET', '/nosuchresource');
    expect([unknown.status, unknown.json]).toEqual([404, { message: 'Resource not found' }]);
    const wrongMethod = await rest(sim.ariUrl, 'PUT', '/channels');
    expect([wrongMethod.status, wrongMethod.json, wrongMethod.headers.get('allow')]).toEqual([405, { message: 'Invalid method' }, 'OPTIONS,GET,POST']);
    const badJson = await fetch(`${sim.ariUrl}/ari/channels/${id}/variable?variable=X`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from('tnd:tnd').toString('base64')}`, 'Content-Type': 'application/json' },
      body: '{not json',
      signal: AbortSignal.timeout(10_000),
    });
    expect(badJson.status).toBe(400);
    await badJson.text();
    await ws.close();
  });

  it('bridge errors: duplicate id 409 on either route, missing bridge 404, missing channel 400, not in Stasis 422', async () => {
    expect((await rest(sim.ariUrl, 'POST', '/bridges?type=mixing&bridgeId=b1&name=b1')).status).toBe(200);
    const dup = await rest(sim.ariUrl, 'POST', '/bridges?type=mixing&bridgeId=b1&name=dup');
    expect([dup.status, dup.json]).toEqual([409, { message: "Bridge with id 'b1' already exists" }]);
    expect((await rest(sim.ariUrl, 'POST', '/bridges/b1?type=mixing&name=dup2')).status).toBe(409);
    const viaPath = await rest(sim.ariUrl, 'POST', '/bridges/via_path?name=n');
    expect(viaPath.json).toMatchObject({ id: 'via_path', name: 'n', bridge_type: 'mixing', technology: 'simple_bridge' });
    const noBridge = await rest(sim.ariUrl, 'POST', '/bridges/none/addChannel?channel=x');
    expect([noBridge.status, noBridge.statusText, noBridge.json]).toEqual([404, 'Not found', { message: 'Bridge not found' }]);
    const noChannel = await rest(sim.ariUrl, 'POST', '/bridges/b1/addChannel?channel=no_such_channel');
    expect([noChannel.status, noChannel.json]).toEqual([400, { message: 'Channel not found' }]);
    // A caller whose app has no socket never reaches Stasis; one that does can be bridged.
    const ws = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
    const a = sim.placeCall({ callerNumber: 'a' });
    const b = sim.placeCall({ callerNumber: 'b' });
    const add = await rest(sim.ariUrl, 'POST', `/bridges/b1/addChannel?channel=${a.channelId},${b.channelId}`);
    expect(add.status).toBe(204);
    expect(sim.bridges().find((x) => x.id === 'b1')?.channels).toEqual([a.channelId, b.channelId]);
    const notIn = await rest(sim.ariUrl, 'POST', `/bridges/via_path/removeChannel?channel=${a.channelId}`);
    expect([notIn.status, notIn.json]).toEqual([422, { message: 'Channel not in this bridge' }]);
    expect((await rest(sim.ariUrl, 'POST', `/bridges/b1/removeChannel?channel=${a.channelId}`)).status).toBe(204);
    expect(sim.bridges().find((x) => x.id === 'b1')?.channels).toEqual([b.channelId]);
    await ws.close();
  });

  it('externalMedia: duplicate channelId and unknown format answer 500 with the internal-error text', async () => {
    const ws = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
    const first = await rest(sim.ariUrl, 'POST', '/channels/externalMedia?app=pair_session&external_host=127.0.0.1:47016&format=ulaw&channelId=em1');
    expect(first.status).toBe(200);
    const internal = { message: 'An internal error prevented this request from being handled' };
    const dup = await rest(sim.ariUrl, 'POST', '/channels/externalMedia?app=pair_session&external_host=127.0.0.1:47016&format=ulaw&channelId=em1');
    expect([dup.status, dup.json]).toEqual([500, internal]);
    const codec = await rest(sim.ariUrl, 'POST', '/channels/externalMedia?app=pair_session&external_host=127.0.0.1:47015&format=nosuchcodec');
    expect([codec.status, codec.json]).toEqual([500, internal]);
    const badIp = await rest(sim.ariUrl, 'POST', '/channels/externalMedia?app=pair_session&external_host=999.999.1.1:47013&format=ulaw');
    expect([badIp.status, badIp.json]).toEqual([500, internal]);
    await ws.close();
  });

  it('originate: duplicate channelId 409; a JSON body counts as query parameters, variables only from the body', async () => {
    sim.endpoints.set('7001', { behaviour: 'noanswer' });
    const ws = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
    const r = await rest(sim.ariUrl, 'POST', '/channels', {
      body: { endpoint: 'PJSIP/7001', app: 'pair_session', channelId: 'c1', variables: { A: '1', B: { value: '2', report_events: true } } },
    });
    expect([r.status, (r.json as { id: string }).id]).toEqual([200, 'c1']);
    expect(sim.channels().find((c) => c.id === 'c1')?.vars).toEqual({ A: '1', B: '2' });
    const dup = await rest(sim.ariUrl, 'POST', '/channels?endpoint=PJSIP/7001&app=pair_session&channelId=c1');
    expect([dup.status, dup.json]).toEqual([409, { message: 'Channel with given unique ID already exists' }]);
    const viaPath = await rest(sim.ariUrl, 'POST', '/channels/c1?endpoint=PJSIP/7001&app=pair_session');
    expect(viaPath.status).toBe(409);
    expect((await rest(sim.ariUrl, 'DELETE', '/channels/c1')).status).toBe(204);
    await ws.close();
  });
});
