/**
 * The part of `@roamhq/wrtc` listen-in uses, typed here: the package's own types re-export the DOM's
 * WebRTC types, which a Node build (lib ES2023, no DOM) does not have. Loaded on the first listen-in,
 * so a node nobody listens to never loads the native WebRTC library.
 */
export interface SessionDescription {
  type: 'offer' | 'answer' | 'pranswer' | 'rollback';
  sdp: string;
}

export interface AudioTrack {
  stop(): void;
}

export interface PeerConnection {
  readonly connectionState: string;
  readonly iceGatheringState: string;
  readonly localDescription: SessionDescription | null;
  onconnectionstatechange: (() => void) | null;
  onicegatheringstatechange: (() => void) | null;
  addTrack(track: AudioTrack): unknown;
  setRemoteDescription(description: SessionDescription): Promise<void>;
  createAnswer(): Promise<SessionDescription>;
  setLocalDescription(description: SessionDescription): Promise<void>;
  close(): void;
}

export interface AudioSource {
  createTrack(): AudioTrack;
  onData(data: { samples: Int16Array; sampleRate: number; bitsPerSample: number; channelCount: number; numberOfFrames: number }): void;
}

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface Wrtc {
  RTCPeerConnection: new (config: { iceServers: IceServer[] }) => PeerConnection;
  nonstandard: { RTCAudioSource: new () => AudioSource };
}

let loading: Promise<Wrtc> | null = null;

export function loadWrtc(): Promise<Wrtc> {
  loading ??= import('@roamhq/wrtc').then((mod: unknown) => {
    const m = mod as { default?: Wrtc } & Partial<Wrtc>;
    const wrtc = m.default ?? (m as Wrtc);
    if (typeof wrtc.RTCPeerConnection !== 'function' || typeof wrtc.nonstandard?.RTCAudioSource !== 'function') {
      throw new Error('@roamhq/wrtc loaded without RTCPeerConnection or nonstandard.RTCAudioSource');
    }
    return wrtc;
  });
  return loading;
}
