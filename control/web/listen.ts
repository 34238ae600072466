import { send } from './api.js';
import { h, setText } from './dom.js';

/** What the node can play: a leg as heard, both legs mixed, or what the node sends a leg (the translation). */
const SOURCES = [
  ['A', 'caller (leg A)'],
  ['B', 'leg B'],
  ['mix', 'both'],
  ['toB', 'into B'],
  ['toA', 'into A'],
] as const;

/**
 * Listen-in on a call's page: one receive-only RTCPeerConnection to the node (offer → POST
 * /console/listen → answer, no trickle, no STUN/TURN unless the node is configured with them). The audio
 * plays in an <audio> element; a WebAudio analyser and the connection's inbound-rtp stats show that
 * sound arrives (and are what the browser test reads).
 */
export function listenControls(pairId: string): { element: HTMLElement; close(): void } {
  const state = h('span', { id: 'listen-state' }, 'not listening');
  const level = h('span', { id: 'listen-level', 'data-rms': '0', 'data-energy': '0', 'data-bytes': '0' }, '');
  const audio = h('audio', { id: 'listen-audio', autoplay: '' });
  const stopButton = h('button', { id: 'listen-stop', type: 'button', disabled: '' }, 'stop');
  const buttons = SOURCES.map(([source, label]) => {
    const button = h('button', { type: 'button', id: `listen-${source}` }, `listen: ${label}`);
    button.addEventListener('click', () => void start(source).catch((err: unknown) => setText(state, `failed: ${String(err)}`)));
    return button;
  });
  stopButton.addEventListener('click', () => void stop());
  let pc: RTCPeerConnection | null = null;
  let listenId: string | null = null;
  let context: AudioContext | null = null;
  let poll: number | null = null;

  const start = async (source: string): Promise<void> => {
    await stop();
    setText(state, `connecting (${source})…`);
    const peer = new RTCPeerConnection({ iceServers: [] });
    pc = peer;
    peer.addTransceiver('audio', { direction: 'recvonly' });
    peer.addEventListener('track', (event) => {
      const stream = event.streams[0] ?? new MediaStream([event.track]);
      audio.srcObject = stream;
      void audio.play().catch(() => undefined);
      measure(stream);
    });
    peer.addEventListener('connectionstatechange', () => setText(state, `${peer.connectionState} (${source})`));
    await peer.setLocalDescription(await peer.createOffer());
    await gathered(peer);
    const res = await send('POST', '/console/listen', { pairId, source, sdp: peer.localDescription?.sdp ?? '' });
    if (!res.ok) {
      peer.close();
      pc = null;
      throw new Error(`${res.status} ${await res.text()}`);
    }
    const answer = (await res.json()) as { id: string; sdp: string };
    listenId = answer.id;
    await peer.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    stopButton.disabled = false;
  };

  /** Level in the page: an analyser on the received stream, and the connection's own inbound-rtp numbers. */
  const measure = (stream: MediaStream): void => {
    context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    context.createMediaStreamSource(stream).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    poll = window.setInterval(() => {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const x of buf) sum += x * x;
      const rms = Math.sqrt(sum / buf.length);
      level.dataset['rms'] = String(Math.max(rms, Number(level.dataset['rms'] ?? 0)));
      void pc?.getStats().then((report) => {
        report.forEach((s: { type?: string; kind?: string; totalAudioEnergy?: number; bytesReceived?: number }) => {
          if (s.type !== 'inbound-rtp' || s.kind !== 'audio') return;
          level.dataset['energy'] = String(s.totalAudioEnergy ?? 0);
          level.dataset['bytes'] = String(s.bytesReceived ?? 0);
        });
      });
      setText(level, `level ${rms > 0 ? (20 * Math.log10(rms)).toFixed(0) : '-∞'} dBFS`);
    }, 200);
  };

  const stop = async (): Promise<void> => {
    if (poll !== null) window.clearInterval(poll);
    poll = null;
    void context?.close();
    context = null;
    pc?.close();
    pc = null;
    audio.srcObject = null;
    stopButton.disabled = true;
    const id = listenId;
    listenId = null;
    if (id !== null) {
      setText(state, 'not listening');
      await send('DELETE', `/console/listen/${encodeURIComponent(id)}`).catch(() => undefined);
    }
  };

  // Leaving the page ends the listener at once (the connection closing would end it too, later).
  const onHide = (): void => {
    if (listenId !== null) void fetch(`/console/listen/${encodeURIComponent(listenId)}`, { method: 'DELETE', keepalive: true, credentials: 'same-origin', headers: { 'x-tandem-console': '1' } });
  };
  window.addEventListener('pagehide', onHide);

  const element = h('section', { id: 'listen' }, h('h2', {}, 'Listen'), h('p', {}, ...buttons, stopButton), h('p', {}, state, ' ', level), audio);
  return {
    element,
    close() {
      window.removeEventListener('pagehide', onHide);
      void stop();
    },
  };
}

/** Waits until every local candidate is in the offer (or 3 s: host candidates come at once). */
function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = window.setTimeout(resolve, 3000);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState !== 'complete') return;
      window.clearTimeout(timer);
      resolve();
    });
  });
}
