/** Why a pair came down; also the reason logged and reported to listeners. */
export type TeardownReason =
  | 'caller-hangup'
  | 'legb-hangup'
  | 'legb-busy'
  | 'legb-no-answer'
  | 'legb-failed'
  | 'originate-failed'
  | 'setup-failed'
  | 'external-media-lost'
  | 'engine-error'
  | 'missed-hangup'
  | 'lease-lost'
  | 'shutdown';

/** The ARI hangup reason given to the surviving leg, so the caller hears why. */
export const CALLER_HANGUP_REASON: Partial<Record<TeardownReason, string>> = {
  'legb-busy': 'busy',
  'legb-no-answer': 'no_answer',
  'originate-failed': 'congestion',
  'setup-failed': 'congestion',
  'engine-error': 'congestion',
  'external-media-lost': 'congestion',
  'lease-lost': 'congestion',
};

/** Why leg B's channel leaving ends the call, from whether it had answered and the Q.850 cause ARI gave. */
export function legBEndReason(answered: boolean, cause: number | null): TeardownReason {
  if (answered) return 'legb-hangup';
  if (cause === 17) return 'legb-busy';
  if (cause === 19) return 'legb-no-answer';
  return cause === null || cause === 16 ? 'legb-hangup' : 'legb-failed';
}
