import { send, stream } from './api.js';
import { h, setText, time } from './dom.js';

interface Presence {
  status: string;
  last: { at: string; ip: string | null; status: string } | null;
}
interface PairView {
  pairId: string;
  extA: string;
  extB: string;
  state: string;
  operatorDisabled: boolean;
  presenceA: Presence;
  presenceB: Presence;
}

function presenceText(p: Presence): string {
  return p.last ? `${p.status} (since ${time(p.last.at)}${p.last.ip ? ` from ${p.last.ip}` : ''})` : p.status;
}

/** Extensions and pairs: presence live, what each pair is doing, and a switch to take a pair out of service. */
export function extensionsPage(root: HTMLElement): () => void {
  const note = h('p', { id: 'presence-note' });
  const body = h('tbody', { id: 'pairs-body' });
  root.replaceChildren(
    h('h1', {}, 'Extensions and pairs'),
    note,
    h('table', {}, h('thead', {}, h('tr', {}, ...['PAIR_ID', 'EXT_A', 'presence A', 'EXT_B', 'presence B', 'pair', 'available'].map((c) => h('th', {}, c)))), body),
  );
  const rows = new Map<string, { tr: HTMLTableRowElement; button: HTMLButtonElement }>();
  return stream('/console/stream/extensions', {
    extensions: (data) => {
      const view = data as { presence: boolean; pairs: PairView[] };
      setText(note, view.presence ? 'Presence from AMI.' : 'Presence is not followed on this node (needs AMI and DATABASE_URL).');
      for (const pair of view.pairs) {
        let row = rows.get(pair.pairId);
        if (row === undefined) {
          const button = h('button', { type: 'button', class: 'toggle' });
          button.addEventListener('click', () => {
            const enable = button.dataset['disabled'] === 'true';
            button.disabled = true;
            void send('PUT', `/console/pairs/${encodeURIComponent(pair.pairId)}/enabled`, { enabled: enable }).finally(() => (button.disabled = false));
          });
          const tr = h('tr', { 'data-pair': pair.pairId }, ...Array.from({ length: 6 }, () => h('td')), h('td', {}, button));
          body.append(tr);
          row = { tr, button };
          rows.set(pair.pairId, row);
        }
        const cells = [pair.pairId, pair.extA, presenceText(pair.presenceA), pair.extB, presenceText(pair.presenceB), pair.state];
        cells.forEach((text, i) => setText(row.tr.children[i]!, text));
        row.button.dataset['disabled'] = String(pair.operatorDisabled);
        setText(row.button, pair.operatorDisabled ? 'disabled — enable' : 'enabled — disable');
      }
    },
  });
}
