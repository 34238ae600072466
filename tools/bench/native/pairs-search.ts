import { LOSS_THRESHOLD_PCT, describeRun, type EngineRun, type PairsSearch, type SearchSide } from './native-report.js';

/** Probing down below the first step stops here: fewer pairs say little about an engine. */
export const MIN_PROBE_PAIRS = 25;
/**
 * Generator send lateness (p99) above which a failed step says more about the
 * machine than about what it measured: on a 2-core box shared with other work,
 * a starved generator sends in bursts that any relay then loses.
 */
export const GENERATOR_LATE_LIMIT_MS = 10;

export interface SearchPlan {
  /** Ascending pair counts; `loadPairs` is merged in. */
  steps: number[];
  /** The comparison load, whose runs (`atLoad`) are reused as a step. */
  loadPairs: number;
  seconds: number;
  /** Estimated wall time of one run beyond `pairs / 200` s, for the budget check. */
  stepCostSeconds: number;
  budgetSeconds: number;
}

/**
 * Steps up through the plan's steps per side until a step loses ≥ 0.1 %; a
 * side's figure is the last step it passed. A side that fails the first step
 * is probed down by halving (to MIN_PROBE_PAIRS), so a weak result is still a
 * number. A step that fails while the generator itself was late (p99 above
 * GENERATOR_LATE_LIMIT_MS) runs once more and the second run decides. Steps
 * that would overrun the time budget are skipped and listed.
 */
export async function searchSustainedPairs(
  plan: SearchPlan,
  atLoad: Record<SearchSide, EngineRun>,
  run: (side: SearchSide, pairs: number) => Promise<EngineRun>,
  elapsed: () => number,
  say: (line: string) => void,
): Promise<PairsSearch> {
  const search: PairsSearch = {
    seconds: plan.seconds,
    loss_threshold_pct: LOSS_THRESHOLD_PCT,
    tandem: [],
    c_mmsg: [],
    tandem_sustained_pairs: 0,
    c_sustained_pairs: 0,
    tandem_censored: false,
    c_censored: false,
    skipped_steps: [],
    retried_steps: [],
  };
  const sides: SearchSide[] = ['tandem', 'c_mmsg'];
  const done: Record<SearchSide, boolean> = { tandem: false, c_mmsg: false };
  const setSustained = (side: SearchSide, pairs: number): void => {
    if (side === 'tandem') search.tandem_sustained_pairs = pairs;
    else search.c_sustained_pairs = pairs;
  };
  const fits = (runs: number, pairs: number): boolean => elapsed() + runs * (plan.stepCostSeconds + pairs / 200) <= plan.budgetSeconds;
  /** Runs a step (or takes the given run); a failure while the generator was late gets one more run when time allows. */
  const decide = async (side: SearchSide, pairs: number, given: EngineRun | null): Promise<EngineRun> => {
    let r = given ?? (await run(side, pairs));
    if (given === null) say(describeRun(r));
    search[side].push(r);
    if (!r.sustained && r.error === undefined && r.generator_send_late_p99_ms > GENERATOR_LATE_LIMIT_MS && fits(1, pairs)) {
      say(`  (the generator was ${r.generator_send_late_p99_ms} ms late at p99: the machine was busy, running this step once more)`);
      search.retried_steps.push({ side, pairs });
      r = await run(side, pairs);
      say(describeRun(r));
      search[side].push(r);
    }
    return r;
  };
  const steps = [...new Set([...plan.steps, plan.loadPairs])].sort((a, b) => a - b);
  say(`\nsustained-pairs search over ${steps.join(', ')} pairs, ${plan.seconds} s per step, stop at ≥ ${LOSS_THRESHOLD_PCT} % loss:`);
  for (const pairs of steps) {
    const active = sides.filter((side) => !done[side]);
    if (active.length === 0) break;
    const reused = pairs === plan.loadPairs;
    if (!fits(reused ? 0 : active.length, pairs)) {
      search.skipped_steps.push(pairs);
      continue;
    }
    for (const side of active) {
      const r = await decide(side, pairs, reused ? atLoad[side] : null);
      if (r.sustained) setSustained(side, pairs);
      else done[side] = true;
    }
  }
  const lowest = steps[0] ?? plan.loadPairs;
  for (const side of sides) {
    if (search[side].length === 0 || search[side].some((r) => r.sustained)) continue;
    for (let pairs = Math.floor(lowest / 2); pairs >= MIN_PROBE_PAIRS; pairs = Math.floor(pairs / 2)) {
      if (!fits(1, pairs)) {
        search.skipped_steps.push(pairs);
        break;
      }
      const r = await decide(side, pairs, null);
      if (r.sustained) {
        setSustained(side, pairs);
        break;
      }
    }
  }
  // A side that never failed has a limit of at least its figure, not exactly it.
  search.tandem_censored = !done.tandem;
  search.c_censored = !done.c_mmsg;
  return search;
}
