import type { AriKnownEvent } from '../ari/index.js';

/** The channel an ARI event is about, which routes it to the pair owning that channel (null: none). */
export function channelOf(event: AriKnownEvent): string | null {
  switch (event.type) {
    case 'StasisStart':
    case 'StasisEnd':
    case 'ChannelHangupRequest':
    case 'ChannelDestroyed':
    case 'ChannelStateChange':
      return event.channel.id;
    case 'Dial':
      return event.peer.id;
    case 'ChannelEnteredBridge':
      return event.channel?.id ?? null;
    case 'ChannelLeftBridge':
      return event.channel.id;
    default:
      return null;
  }
}
