import { getJson } from './api.js';
import { duration, h, num } from './dom.js';
import type { CallRecord } from './types.js';

/** Recent calls from the call records API, filtered by extension, time and outcome in the page. */
export function historyPage(root: HTMLElement): () => void {
  const ext = h('input', { name: 'ext', placeholder: 'extension or caller', size: '16' });
  const since = h('select', { name: 'since' }, h('option', { value: '1' }, 'last hour'), h('option', { value: '24' }, 'last day'), h('option', { value: '168' }, 'last week'));
  const outcome = h('select', { name: 'outcome' }, ...['any', 'caller', 'legb', 'tandem'].map((o) => h('option', { value: o }, o === 'any' ? 'ended by anyone' : `ended by ${o}`)));
  const body = h('tbody', { id: 'history-body' });
  const status = h('p');
  let records: CallRecord[] = [];
  const draw = (): void => {
    const e = ext.value.trim();
    const shown = records.filter((r) => (e === '' || r.extA === e || r.extB === e || r.caller === e) && (outcome.value === 'any' || r.hangupBy === outcome.value));
    status.textContent = `${shown.length} of ${records.length} calls`;
    body.replaceChildren(
      ...shown.map((r) =>
        h(
          'tr',
          {},
          h('td', {}, new Date(r.endedAt).toLocaleString()),
          h('td', {}, h('a', { href: `#/call/${encodeURIComponent(r.pairId)}` }, r.pairId)),
          ...[r.caller ?? '–', r.extA, r.extB, duration(r.durationMs), `${r.hangupBy} (${r.teardownReason})`, `${num(r.mosA, 2)} / ${num(r.mosB, 2)}`].map((v) => h('td', {}, v)),
          // The record (and its recording) on the call's page, also for calls before the node's restart.
          h('td', {}, h('a', { href: `#/call/${encodeURIComponent(r.pairId)}/${encodeURIComponent(r.id)}`, class: 'record-link' }, r.recording ? `record · ${r.recording.format} ${duration(r.recording.durationMs)}` : 'record')),
        ),
      ),
    );
  };
  const load = async (): Promise<void> => {
    const from = new Date(Date.now() - Number(since.value) * 3600_000).toISOString();
    records = (await getJson<{ calls: CallRecord[] }>(`/v1/calls?since=${encodeURIComponent(from)}&limit=1000`)).calls;
    draw();
  };
  ext.addEventListener('input', draw);
  outcome.addEventListener('change', draw);
  since.addEventListener('change', () => void load());
  root.replaceChildren(
    h('h1', {}, 'History'),
    h('form', { class: 'filters' }, ext, since, outcome),
    status,
    h('table', {}, h('thead', {}, h('tr', {}, ...['ended', 'PAIR_ID', 'caller', 'EXT_A', 'EXT_B', 'duration', 'ended by', 'MOS A / B', 'record'].map((c) => h('th', {}, c)))), body),
  );
  void load().catch((err: unknown) => (status.textContent = String(err)));
  return () => undefined;
}
