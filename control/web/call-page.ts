import { getJson, stream } from './api.js';
import { duration, h, num, setText, time } from './dom.js';
import { LinePlot } from './plot.js';
import { listenControls } from './listen.js';
import type { CallRecord, LiveCall, TimelineEntry, Transcript } from './types.js';

interface Latency {
  direction: string;
  totalMs: number;
  ingressMs: number;
  endpointingMs: number;
  vadMs: number;
  providerMs: number;
  egressMs: number;
  /** The provider's answer came before the VAD's decision: its share is 0 and the parts overlap. */
  answeredBeforeDecision?: boolean;
}

/**
 * One pair's call: state and quality, its timeline, the transcript of both
 * directions (original and translated), each utterance's latency by part, and
 * once it ended, its record from the call records API.
 */
export function callPage(root: HTMLElement, pairId: string, recordId: string | null = null): () => void {
  const status = h('p', { id: 'call-status' }, 'waiting for a call on this pair…');
  const quality = h('pre', { id: 'call-quality' });
  // Quality over time: one point per update (once a second), the last two minutes.
  const CAPACITY = 120;
  const legSeries = [
    { label: 'leg A', colour: '#1a5fb4' },
    { label: 'leg B', colour: '#c01c28' },
  ];
  const plots = {
    lossPct: new LinePlot('loss %', legSeries),
    jitterMs: new LinePlot('jitter ms', legSeries),
    rxPps: new LinePlot('packets/s in', legSeries),
  };
  const history: Record<keyof typeof plots, [number[], number[]]> = { lossPct: [[], []], jitterMs: [[], []], rxPps: [[], []] };
  const timeline = h('ol', { id: 'call-timeline' });
  const transcriptA = h('ul', { id: 'transcript-ab' });
  const transcriptB = h('ul', { id: 'transcript-ba' });
  const latency = h('tbody', { id: 'call-latency' });
  const record = h('div', { id: 'call-record' });
  const listen = listenControls(pairId);
  root.replaceChildren(
    h('h1', {}, `Call on ${pairId}`),
    status,
    quality,
    listen.element,
    h('div', { class: 'plots', id: 'call-plots' }, plots.lossPct.element, plots.jitterMs.element, plots.rxPps.element),
    h('div', { class: 'columns' }, h('section', {}, h('h2', {}, 'Timeline'), timeline), h('section', {}, h('h2', {}, 'Caller → leg B'), transcriptA), h('section', {}, h('h2', {}, 'Leg B → caller'), transcriptB)),
    h('h2', {}, 'Latency per utterance (ms)'),
    h('table', {}, h('thead', {}, h('tr', {}, ...['direction', 'total', 'ingress', 'endpointing', 'VAD', 'provider', 'egress'].map((c) => h('th', {}, c)))), latency),
    h('h2', {}, 'Record'),
    record,
  );
  const utterances = new Map<string, HTMLLIElement>();
  let callId: string | null = null;

  const drawTimeline = (entries: readonly TimelineEntry[]): void => {
    while (timeline.children.length > entries.length) timeline.lastElementChild?.remove();
    entries.forEach((e, i) => {
      const text = `${time(e.at)} ${e.what}`;
      const li = timeline.children[i] ?? timeline.appendChild(h('li'));
      setText(li, text);
    });
  };
  const drawCall = (call: LiveCall): void => {
    callId = call.callId;
    setText(status, `${call.state} · caller ${call.caller ?? '–'} · ${call.extA} ↔ ${call.extB} · ${duration(Date.now() - call.startedAt)}${call.languages ? ` · ${call.languages.A} ⇄ ${call.languages.B}` : ''}`);
    const legs = call.legs;
    if (legs) {
      for (const key of Object.keys(plots) as Array<keyof typeof plots>) {
        const [a, b] = history[key];
        a.push(legs.A[key]);
        b.push(legs.B[key]);
        if (a.length > CAPACITY) a.shift();
        if (b.length > CAPACITY) b.shift();
        plots[key].draw([a, b], CAPACITY);
      }
    }
    setText(
      quality,
      legs
        ? (['A', 'B'] as const)
            .map((l) => `leg ${l} (${legs[l].ext}): ${num(legs[l].rxPps, 0)} pkt/s in, ${num(legs[l].txPps, 0)} out, loss ${num(legs[l].lossPct, 2)} %, jitter ${num(legs[l].jitterMs)} ms, JB ${num(legs[l].depthMs, 0)} ms, concealed ${legs[l].concealed}, MOS ${num(legs[l].mos, 2)}, level ${num(legs[l].levelDbfs, 0)} dBFS, clipped ${legs[l].clipped}`)
            .join('\n')
        : '',
    );
  };
  const addTranscript = (t: Transcript): void => {
    const key = `${t.direction} ${t.utteranceId ?? t.text}`;
    let li = utterances.get(key);
    if (li === undefined) {
      li = h('li', { class: 'transcript' });
      utterances.set(key, li);
      (t.direction === 'A->B' ? transcriptA : transcriptB).append(li);
    }
    li.className = `transcript ${t.final ? 'final' : 'partial'}`;
    li.replaceChildren(h('span', { class: 'original' }, `[${t.language}] ${t.text}`), h('br'), h('span', { class: 'translated' }, `[${t.targetLanguage ?? '?'}] ${t.translatedText ?? '…'}`));
  };
  const showRecord = async (endedCallId: string): Promise<void> => {
    let found: CallRecord | undefined;
    // A record stored in PostgreSQL lands a moment after the call ends.
    for (let attempt = 0; attempt < 10 && found === undefined; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 1000));
      const list = await getJson<{ calls: CallRecord[] }>(`/v1/calls?pairId=${encodeURIComponent(pairId)}&limit=20`);
      found = list.calls.find((c) => c.callId === endedCallId);
    }
    if (!found) {
      record.replaceChildren(h('p', {}, 'no record found'));
      return;
    }
    await showRecordById(found.id);
  };
  const showRecordById = async (id: string): Promise<void> => {
    const full = await getJson<CallRecord>(`/v1/calls/${encodeURIComponent(id)}`);
    record.replaceChildren(
      h(
        'dl',
        { class: 'record' },
        ...(
          [
            ['record id', full.id],
            ['ended by', `${full.hangupBy} (${full.teardownReason}${full.hangupCause === null ? '' : `, cause ${full.hangupCause}`})`],
            ['duration', duration(full.durationMs)],
            ['setup', full.setupMs === null ? '–' : `${full.setupMs} ms`],
            ['MOS A / B', `${num(full.mosA, 2)} / ${num(full.mosB, 2)}`],
            ['codec', full.codec],
            ['recording', full.recording ? `${full.recording.format}, ${duration(full.recording.durationMs)}, ${Math.round(full.recording.bytes / 1024)} KiB` : '–'],
          ] as const
        ).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      ),
    );
    // Its recording, when this node recorded it (the file lands a moment after the record: WAV closing, Opus encoding).
    const src = `/v1/calls/${encodeURIComponent(full.id)}/recording`;
    for (let attempt = 0; attempt < 15; attempt++) {
      const head = await fetch(src, { method: 'HEAD', credentials: 'same-origin' });
      if (head.ok) {
        record.append(h('p', { id: 'call-recording' }, h('audio', { controls: '', preload: 'none', src }), ' ', h('a', { href: src, download: '' }, 'download')));
        return;
      }
      if (head.status !== 404) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };

  const closeStream = stream(`/console/stream/call/${encodeURIComponent(pairId)}`, {
    call: (data) => {
      const { call, timeline: entries } = data as { call: LiveCall; timeline: TimelineEntry[] };
      drawCall(call);
      drawTimeline(entries);
    },
    transcripts: (data) => {
      for (const t of data as Transcript[]) addTranscript(t);
    },
    latency: (data) => {
      for (const l of data as Latency[]) {
        const provider = l.answeredBeforeDecision === true ? 'before VAD' : l.providerMs;
        latency.append(h('tr', {}, ...[l.direction, l.totalMs, l.ingressMs, l.endpointingMs, l.vadMs, provider, l.egressMs].map((v) => h('td', {}, typeof v === 'number' ? num(v, 0) : v))));
      }
    },
    ended: (data) => {
      const ended = data as { callId: string; reason: string; timeline: TimelineEntry[] };
      setText(status, `ended (${ended.reason})`);
      drawTimeline(ended.timeline);
      if (callId === null || callId === ended.callId) void showRecord(ended.callId).catch((err: unknown) => record.replaceChildren(h('p', {}, String(err))));
    },
    idle: () => setText(status, 'no call on this pair'),
  });
  // Opened on one record (from the history): show it at once, whatever the pair does now.
  if (recordId !== null) void showRecordById(recordId).catch((err: unknown) => record.replaceChildren(h('p', {}, String(err))));
  return () => {
    closeStream();
    listen.close();
  };
}
