import { errorMessage } from '../../../common/src/errors.js';
import type { Logger } from '../../../common/src/logger.js';
import type { AriClient } from '../ari/index.js';
import type { PairObjectIds } from './naming.js';
import type { PairLeftovers } from './pair-leftovers.js';

/** The Asterisk objects of one pair that its teardown deletes. */
export interface PairObjects {
  callerChannelId: string;
  ids: PairObjectIds;
  /** The caller's and leg B's channels already left (their own events said so): not hung up again. */
  callerGone: boolean;
  legBGone: boolean;
  /** The ARI hangup reason given to the caller, so it hears why (none: a plain hangup). */
  callerReason: string | undefined;
}

/**
 * Hangs up the pair's channels, then destroys its bridges while `alongsideBridges` runs (the
 * engine's close, which needs no Asterisk object). Every object is confirmed gone (2xx, or 404:
 * already gone) or listed as a leftover: never assumed gone because its DELETE failed or timed
 * out (issue 11: a leg B stayed Up after its pair was released).
 */
export async function removePairObjects(
  ari: Pick<AriClient, 'hangup' | 'destroyBridge'>,
  objects: PairObjects,
  log: Logger,
  alongsideBridges: () => Promise<void>,
): Promise<PairLeftovers> {
  const { ids, callerChannelId } = objects;
  const leftovers: PairLeftovers = { channels: [], bridges: [] };
  const remove = async (kind: keyof PairLeftovers, id: string, what: string, op: () => Promise<boolean>): Promise<void> => {
    try {
      await op();
    } catch (err) {
      leftovers[kind].push(id);
      log.warn({ err: errorMessage(err), what, id }, 'teardown step not confirmed; held for reconciliation');
    }
  };
  await Promise.all([
    objects.callerGone ? Promise.resolve() : remove('channels', callerChannelId, 'hangup caller', () => ari.hangup(callerChannelId, objects.callerReason)),
    objects.legBGone ? Promise.resolve() : remove('channels', ids.legB, 'hangup leg B', () => ari.hangup(ids.legB)),
    remove('channels', ids.mediaA, 'hangup externalMedia A', () => ari.hangup(ids.mediaA)),
    remove('channels', ids.mediaB, 'hangup externalMedia B', () => ari.hangup(ids.mediaB)),
  ]);
  await Promise.all([
    remove('bridges', ids.bridgeA, 'destroy bridge A', () => ari.destroyBridge(ids.bridgeA)),
    remove('bridges', ids.bridgeB, 'destroy bridge B', () => ari.destroyBridge(ids.bridgeB)),
    alongsideBridges(),
  ]);
  return leftovers;
}

/** A teardown step whose failure is logged and passed over: teardown always runs to its end. */
export async function attemptTeardownStep(log: Logger, what: string, op: () => Promise<unknown>): Promise<void> {
  try {
    await op();
  } catch (err) {
    log.warn({ err: errorMessage(err), what }, 'teardown step failed');
  }
}
