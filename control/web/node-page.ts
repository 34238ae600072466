import { stream } from './api.js';
import { h, num, setText } from './dom.js';
import type { NodeStatus } from './types.js';

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;

/** The node: main-thread load, each engine worker, and the state of every link. */
export function nodePage(root: HTMLElement): () => void {
  const summary = h('pre', { id: 'node-summary' });
  const links = h('ul', { id: 'node-links' });
  const workers = h('tbody', { id: 'node-workers' });
  root.replaceChildren(
    h('h1', {}, 'Node'),
    summary,
    h('h2', {}, 'Links'),
    links,
    h('h2', {}, 'Engine workers'),
    h('table', {}, h('thead', {}, h('tr', {}, ...['worker', 'pairs', 'sockets', 'heap', 'late ticks', 'worst lateness ms'].map((c) => h('th', {}, c)))), workers),
  );
  return stream('/console/stream/node', {
    node: (data) => {
      const s = data as NodeStatus;
      setText(summary, `uptime ${s.uptimeS} s · main thread CPU ${num(s.cpuPct)} % · RSS ${mb(s.rssBytes)} · event-loop lag mean ${num(s.eventLoopLagMs.mean, 2)} ms, p99 ${num(s.eventLoopLagMs.p99, 2)} ms, max ${num(s.eventLoopLagMs.max, 2)} ms · ${s.pairs} pairs in the engine`);
      links.replaceChildren(...Object.entries(s.links).map(([name, up]) => h('li', { class: up ? 'up' : 'down' }, `${name}: ${up ? 'connected' : 'DOWN'}`)));
      workers.replaceChildren(...s.workers.map((w) => h('tr', {}, ...[w.shard, w.pairs, w.sockets, mb(w.heapUsedBytes), w.lateTicks, num(w.maxTickLatenessMs)].map((v) => h('td', {}, String(v))))));
    },
  });
}
