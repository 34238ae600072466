/**
 * Load and soak tests judge what Tandem sets up, drops and leaves behind, not how fast: on a machine
 * busy with other tests (or CI's busy loops) a call's setup can take longer than any product default,
 * so here a call counts as never set up only after a minute. A call whose audio never flows still
 * fails, with its evidence in the report.
 */
export const BUSY_MACHINE_SETUP_TIMEOUT_MS = 60_000;

/** Via-ARI load runs: the hold counts from set-up, a setup may take BUSY_MACHINE_SETUP_TIMEOUT_MS, and `tandem start` two minutes to be ready. */
export const VIA_ARI_ON_A_BUSY_MACHINE = { holdFrom: 'set-up', setupTimeoutMs: BUSY_MACHINE_SETUP_TIMEOUT_MS, readyTimeoutMs: 120_000 } as const;
