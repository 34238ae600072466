import { getPriority, setPriority } from 'node:os';
import { errorMessage } from '../../../common/src/errors.js';

/** What a worker thread asked for and what it runs at; `error` says why they differ. */
export interface ThreadPriority {
  requested: number;
  applied: number;
  error?: string;
}

export interface PriorityCalls {
  get: () => number;
  set: (nice: number) => void;
}

/**
 * On Linux, setpriority(PRIO_PROCESS, 0) is per thread, so a worker that calls
 * this raises only itself: the shard threads that pace RTP preempt a busy
 * neighbour (Asterisk, a load generator) instead of queueing behind it, while
 * the main thread and the control plane keep the ordinary priority.
 * Raising priority needs CAP_SYS_NICE (or systemd's LimitNICE=); without it
 * the thread keeps its priority and the caller logs the reason.
 */
export function applyThreadPriority(
  requested: number,
  calls: PriorityCalls = { get: () => getPriority(), set: (nice) => setPriority(nice) },
): ThreadPriority {
  const current = calls.get();
  if (current === requested) return { requested, applied: current };
  try {
    calls.set(requested);
    return { requested, applied: calls.get() };
  } catch (err) {
    return { requested, applied: calls.get(), error: errorMessage(err) };
  }
}
