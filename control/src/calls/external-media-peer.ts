/** Asterisk's side of an externalMedia channel, from the POST response's channelvars. */
export function unicastRtpPeer(channelvars: Record<string, string> | undefined, channelId: string): { address: string; port: number } {
  const address = channelvars?.['UNICASTRTP_LOCAL_ADDRESS'];
  const port = Number(channelvars?.['UNICASTRTP_LOCAL_PORT']);
  if (!address || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`externalMedia ${channelId} response lacks UNICASTRTP_LOCAL_ADDRESS/PORT`);
  }
  return { address, port };
}

/** `<mediaUrl><MEDIA_WEBSOCKET_CONNECTION_ID>`: where the engine connects a WebSocket leg (from the POST response's channelvars). */
export function mediaWebSocketUrl(mediaUrl: string | undefined, channelvars: Record<string, string> | undefined, channelId: string): string {
  if (mediaUrl === undefined) throw new Error('the websocket media transport needs calls.mediaUrl (ws://<asterisk http>/media/)');
  const id = channelvars?.['MEDIA_WEBSOCKET_CONNECTION_ID'];
  if (!id || !/^[A-Za-z0-9_.-]{1,128}$/.test(id)) {
    throw new Error(`externalMedia ${channelId} response lacks a usable MEDIA_WEBSOCKET_CONNECTION_ID`);
  }
  return `${mediaUrl}${id}`;
}
