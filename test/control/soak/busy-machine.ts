/**
 * The soak tests judge leaks and drops, not speed: on a machine busy with other tests a call's setup
 * can take longer than the CLI's 10 s default, so here a call counts as never set up only after a
 * minute. A call whose audio never flows still fails, with its evidence in the report.
 */
export const BUSY_MACHINE_SETUP_TIMEOUT_MS = 60_000;
