import type { LegName, MediaStartInfo, OpenPairRequest, OpenPairResult, PairStats, PairTranslationInput, UdpEndpoint } from '../../../engine/src/index.js';

/** What a call needs from the media engine; MediaEngine satisfies it. */
export interface MediaEnginePort {
  openPair(request: OpenPairRequest): Promise<OpenPairResult>;
  setRemote(pairId: string, leg: LegName, remote: UdpEndpoint): Promise<void>;
  /** WebSocket pairs: connects a leg to chan_websocket's `/media/<id>`. */
  connectMedia(pairId: string, leg: LegName, url: string): Promise<MediaStartInfo>;
  /** New translation settings for a running pair (languages that follow the extensions); absent in engines without translation. */
  setTranslation?(pairId: string, translation: PairTranslationInput | null): Promise<void>;
  /** Closes the pair; resolves to its final stats, or null when it was not open. */
  closePair(pairId: string): Promise<PairStats | null>;
  on(event: 'pairclosed', listener: (pairId: string, reason: string) => void): unknown;
  off(event: 'pairclosed', listener: (pairId: string, reason: string) => void): unknown;
}
