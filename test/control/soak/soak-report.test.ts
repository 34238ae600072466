import { describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../../../tools/soak/html-report.js';
import type { PhaseReport, SoakReport, SoakSample } from '../../../tools/soak/types.js';
import { judge } from '../../../tools/soak/verdict.js';

const clean = { channels: 0, bridges: 0, leases: 0, engine_sockets: 0 };

function phase(over: Partial<PhaseReport>): PhaseReport {
  return {
    name: 'churn', fault: 'none', fault_window_s: null, attempted: 10, set_up: 10, completed: 10, abandoned: 0, failed: {}, failed_evidence: [], dropped: {}, lost_within_reach: 0, checked_after_fault: 0, double_grants: 0,
    setup_p50_ms: 100, setup_p99_ms: 200, fault_ms: null, recovery_ms: null, link_recovery_ms: null, fault_note: null, records: null, provider_stall: null,
    leftovers: clean, fd_growth: 0, ari_connection_growth: 0, other_fd_growth: 0, heap_growth_mb: 0, duration_s: 5, ...over,
  };
}

const stall = { stalled_ms: 3000, sessions_caught: 6, audio_bytes_accepted: 96_000, messages_withheld: 2, provider_recovery_ms: 40, node_translation_errors: 4 };

function samples(n: number): SoakSample[] {
  return Array.from({ length: n }, (_, i) => ({
    t_s: i, pid: 1, rss_mb: 100 + i, heap_used_mb: 40 + (i % 3), fds: 60 + (i % 2), ari_connections: 5 + (i % 3), sockets: i % 4, leases: i % 5, channels: i % 7, bridges: i % 3, calls_up: i % 5,
    setup_p50_ms: i % 2 ? 120 : null, setup_p99_ms: i % 2 ? 300 : null,
  }));
}

describe('soak verdict', () => {
  it('passes a clean run and fails, with the evidence, each fault left unrecovered or data lost outside its reach', () => {
    expect(judge([phase({}), phase({ name: 'ami-drop', fault: 'ami-drop', fault_note: 'reset', recovery_ms: 100, link_recovery_ms: 600 })], samples(12), null).failures).toEqual([]);
    const { failures } = judge(
      [
        phase({ name: 'ami-drop', fault: 'ami-drop', fault_note: 'reset', recovery_ms: 100, link_recovery_ms: null }),
        phase({ name: 'postgres-unreachable', fault: 'postgres-unreachable', fault_note: 'cut', recovery_ms: 100, link_recovery_ms: 6000, records: { ended: 10, stored: 4 } }),
        phase({ name: 'http-stall', fault: 'http-stall', fault_note: 'taken', recovery_ms: 5200, records: { ended: 10, stored: 9 } }),
        // The ARI pool regrowing is no leak; other fds growing is.
        phase({ name: 'churn', fd_growth: 35, ari_connection_growth: 35, other_fd_growth: 0 }),
        phase({ name: 'churn', fd_growth: 47, ari_connection_growth: 33, other_fd_growth: 14 }),
        phase({ name: 'provider-stall', fault: 'provider-stall', fault_note: 'stalled', recovery_ms: 100, provider_stall: { ...stall, sessions_caught: 0 } }),
        phase({ name: 'provider-stall', fault: 'provider-stall', fault_note: 'stalled', recovery_ms: 100, provider_stall: { ...stall, provider_recovery_ms: null } }),
        phase({ name: 'provider-stall', fault: 'provider-stall', fault_note: 'stalled', recovery_ms: 100, provider_stall: stall }),
        // A stall the node's liveness check had time to see must have been reported...
        phase({ name: 'provider-stall', fault: 'provider-stall', fault_note: 'stalled', recovery_ms: 100, provider_stall: { ...stall, node_translation_errors: 0 } }),
        phase({ name: 'provider-stall', fault: 'provider-stall', fault_note: 'stalled', recovery_ms: 100, provider_stall: { ...stall, node_translation_errors: null } }),
        // ...one shorter than its interval + timeout need not be.
        phase({ name: 'provider-stall', fault: 'provider-stall', fault_note: 'stalled', recovery_ms: 100, provider_stall: { ...stall, stalled_ms: 1000, node_translation_errors: 0 } }),
        // A pair seen holding two callers at once (e.g. granted twice while Redis was paused).
        phase({ name: 'redis-pause', fault: 'redis-pause', fault_note: 'CLIENT PAUSE 3000 ALL', recovery_ms: 100, double_grants: 1 }),
      ],
      samples(12),
      null,
    );
    expect(failures).toEqual([
      'ami-drop: the node never reported the link up again',
      'postgres-unreachable: link up again only after 6000 ms (> 5000)',
      'http-stall: recovered only after 5200 ms (> 5000)',
      'http-stall: 1 call record(s) of 10 not stored',
      'churn: file descriptors other than ARI connections grew by 14 idle to idle (all fds 47)',
      'provider-stall: the stall caught no provider session',
      'provider-stall: the provider never answered a session after the stall',
      'provider-stall: a 3000 ms stall went unnoticed (tandem_translation_errors_total +0)',
      "provider-stall: the node's translation errors could not be read across the stall",
      'redis-pause: 1 pair(s) granted to two callers at once',
    ]);
  });
});

describe('soak HTML report', () => {
  it('is one self-contained page: every series plotted, each fault window shaded and named, the failures listed', () => {
    const report: SoakReport = {
      mode: 'soak', tandem_command: 'node tandem start', store: 'memory', database: true, translate: false, calls_planned: 20, rate_per_s: 10, max_concurrent: 8, hold_ms: [200, 3000],
      phases: [phase({}), phase({ name: 'postgres-unreachable', fault: 'postgres-unreachable', fault_window_s: [4, 7], fault_note: 'cut <proxy>', recovery_ms: 90, link_recovery_ms: 150, records: { ended: 9, stored: 6 } })],
      drain: { calls_in_flight: 5, exit_code: 0, exit_signal: null, finished_or_torn_down: true, leftovers: { channels: 0, bridges: 0, leases: null, engine_sockets: null } },
      samples: samples(12), duration_s: 12, stopped_by_time_limit: false, heap_floor_growth_mb: 0.5, verdict: 'fail', failures: ['churn: fds grew by 99 <idle>'],
    };
    const html = renderHtmlReport(report);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    for (const series of ['calls_up', 'leases', 'channels', 'setup_p50_ms', 'setup_p99_ms', 'fds', 'ari_connections', 'sockets', 'rss_mb', 'heap_used_mb']) expect(html).toContain(`data-series="${series}"`);
    expect(html.match(/<svg /g)).toHaveLength(5);
    expect(html.match(/data-fault="postgres-unreachable"/g)).toHaveLength(5);
    // Text from the run is escaped, and nothing is loaded from elsewhere.
    expect(html).toContain('churn: fds grew by 99 &lt;idle&gt;');
    expect(html).toContain('cut &lt;proxy&gt;');
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\//);
    expect(html).toContain('6 / 9');
  });
});
