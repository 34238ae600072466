import type { OpenPairResult } from '../../../engine/src/index.js';
import { AriError, type AriChannel, type AriClient } from '../ari/index.js';
import type { CallConfig } from './call-config.js';
import { mediaWebSocketUrl, unicastRtpPeer } from './external-media-peer.js';
import type { PairObjectIds } from './naming.js';
import type { MediaEnginePort } from './ports.js';
import { vanished } from './setup-errors.js';

/** What connecting one side needs from its CallPair: the pair's names, its clients, and its setup guards. */
export interface MediaSidePair {
  ari: AriClient;
  engine: MediaEnginePort;
  config: CallConfig;
  pairId: string;
  extA: string;
  extB: string;
  ids: PairObjectIds;
  callerChannelId: string;
  /** Both bridges created (setup) or there already (adopting). */
  bridgesReady: Promise<void> | null;
  /** Registers a request teardown must wait for. */
  track: <T>(request: Promise<T>) => Promise<T>;
  /** Throws once the pair is being torn down, which ends the step. */
  checkAlive: () => void;
  /** Resolves once the channel is in Stasis, or the pair is being torn down. */
  inStasis: (channelId: string) => Promise<void>;
  /** Replacing a dead externalMedia channel of the same name (see createMedia). */
  adopting: () => boolean;
}

/**
 * One side's externalMedia channel: created towards its engine leg, connected, then into its
 * bridge (with the caller on side A at setup; alone when adopting, the caller being there already).
 */
export async function connectMediaSide(pair: MediaSidePair, leg: 'A' | 'B', legs: OpenPairResult, { withCaller }: { withCaller: boolean }): Promise<void> {
  const { ari, engine, config, ids, pairId, extA, extB, track } = pair;
  const variables = { PAIR_ID: pairId, SRC_EXT: leg === 'A' ? extA : extB };
  const channelId = leg === 'A' ? ids.mediaA : ids.mediaB;
  if (legs.transport === 'websocket') {
    // chan_websocket answers its channel, and so puts it into Stasis, only once the engine's connection is up.
    const media = await track(createMedia(pair, () => ari.externalMedia({ app: config.app, transport: 'websocket', format: config.format, channelId, variables })));
    pair.checkAlive();
    await track(engine.connectMedia(pairId, leg, mediaWebSocketUrl(config.mediaUrl, media.channelvars, channelId)));
    await Promise.all([pair.inStasis(channelId), pair.bridgesReady]);
  } else {
    const local = leg === 'A' ? legs.legA : legs.legB;
    const media = await track(createMedia(pair, () => ari.externalMedia({ app: config.app, externalHost: `${local.address}:${local.port}`, format: config.format, channelId, variables })));
    pair.checkAlive();
    // The leg does not latch, so it hears nothing until the engine knows Asterisk's side;
    // Asterisk sends only once the channel is bridged: connected first, then bridged.
    // The 200 may come before the channel is in Stasis (docs/asterisk-facts.md): an add
    // sent then is refused with 422, so the add also waits for its StasisStart.
    const remote = track(engine.setRemote(pairId, leg, unicastRtpPeer(media.channelvars, channelId)));
    await Promise.all([remote, pair.bridgesReady, pair.inStasis(channelId)]);
  }
  pair.checkAlive();
  const join =
    leg === 'A'
      ? track(ari.addChannels(ids.bridgeA, withCaller ? [pair.callerChannelId, ids.mediaA] : [ids.mediaA])).catch(vanished('caller-hangup'))
      : track(ari.addChannels(ids.bridgeB, [ids.mediaB]));
  await join;
}

/**
 * Creates an externalMedia channel. While adopting, the id may still name the dead channel being
 * hung up (Asterisk frees an id once the channel is destroyed, a moment after the DELETE's 204):
 * a 409 then is retried briefly.
 */
async function createMedia(pair: MediaSidePair, create: () => Promise<AriChannel>): Promise<AriChannel> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await create();
    } catch (err) {
      if (!pair.adopting() || attempt >= 40 || !(err instanceof AriError && err.code === 'CONFLICT')) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
      pair.checkAlive();
    }
  }
}
