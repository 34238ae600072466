import { stream } from './api.js';
import { duration, h, num, setText } from './dom.js';
import type { LiveCall, LiveLeg } from './types.js';

const LEG_COLUMNS = ['pkt/s in', 'loss %', 'jitter ms', 'JB ms', 'conc.', 'MOS', 'level dBFS', 'clipped'] as const;

function legCells(leg: LiveLeg | undefined): string[] {
  if (leg === undefined) return LEG_COLUMNS.map(() => '–');
  return [num(leg.rxPps, 0), num(leg.lossPct, 2), num(leg.jitterMs), num(leg.depthMs, 0), String(leg.concealed), num(leg.mos, 2), num(leg.levelDbfs, 0), String(leg.clipped)];
}

/**
 * Calls, live: one row per pair with a call, updated in place once a second
 * (rows keyed by PAIR_ID, cells rewritten only when their text changed, so 500
 * calls stay cheap to draw).
 */
export function callsPage(root: HTMLElement): () => void {
  const count = h('span', {}, '0');
  const head = h(
    'tr',
    {},
    ...['PAIR_ID', 'caller', 'EXT_A', 'EXT_B', 'state', 'duration', 'languages'].map((c) => h('th', { rowspan: '2' }, c)),
    h('th', { colspan: String(LEG_COLUMNS.length) }, 'leg A (caller)'),
    h('th', { colspan: String(LEG_COLUMNS.length) }, 'leg B'),
  );
  const sub = h('tr', {}, ...[...LEG_COLUMNS, ...LEG_COLUMNS].map((c) => h('th', {}, c)));
  const body = h('tbody', { id: 'calls-body' });
  root.replaceChildren(h('h1', {}, 'Calls ', h('small', {}, count, ' up')), h('table', { class: 'calls' }, h('thead', {}, head, sub), body));
  const rows = new Map<string, HTMLTableRowElement>();
  let latest: LiveCall[] = [];

  const draw = (): void => {
    const now = Date.now();
    const seen = new Set<string>();
    for (const call of latest) {
      seen.add(call.pairId);
      let tr = rows.get(call.pairId);
      if (tr === undefined) {
        tr = h('tr', { 'data-pair': call.pairId });
        const link = h('a', { href: `#/call/${encodeURIComponent(call.pairId)}` }, call.pairId);
        tr.append(h('td', {}, link));
        for (let i = 1; i < 7 + 2 * LEG_COLUMNS.length; i++) tr.append(h('td'));
        rows.set(call.pairId, tr);
        body.append(tr);
      }
      const cells = [
        call.caller ?? '–',
        call.extA,
        call.extB,
        call.state,
        duration(now - call.startedAt),
        call.languages ? `${call.languages.A} ⇄ ${call.languages.B}` : 'duplex',
        ...legCells(call.legs?.A),
        ...legCells(call.legs?.B),
      ];
      cells.forEach((text, i) => setText(tr.children[i + 1]!, text));
      tr.className = `state-${call.state}`;
    }
    for (const [pairId, tr] of rows) {
      if (seen.has(pairId)) continue;
      tr.remove();
      rows.delete(pairId);
    }
    setText(count, String(latest.length));
  };
  const stop = stream('/console/stream/calls', {
    calls: (data) => {
      latest = (data as { calls: LiveCall[] }).calls;
      draw();
    },
  });
  return stop;
}
