/**
 * The ITU-T G.107 E-model (06/2015 edition, narrowband): the transmission
 * rating factor R from a connection's parameters, and the MOS estimate Annex B
 * derives from R.
 *
 *   R = Ro − Is − Id − Ie,eff + A
 *
 * Every parameter has its G.107 §7.7 (Table 3) default; with all defaults
 * R = 93.2 and MOS = 4.41. A call record changes only what Tandem observes:
 * the codec's equipment impairment Ie and packet-loss robustness Bpl, the
 * packet loss Ppl, and the one-way delay (T = Ta, Tr = 2T, as G.107 advises
 * when nothing is known about the echo path). See estimateCallQuality().
 */
import type { CodecName } from '../../../engine/src/index.js';

/** The E-model's inputs, by their G.107 names (levels in dB, delays in ms, Ppl in %). */
export interface EModelParameters {
  /** Send loudness rating. */
  SLR: number;
  /** Receive loudness rating. */
  RLR: number;
  /** Sidetone masking rating. */
  STMR: number;
  /** Listener sidetone rating. */
  LSTR: number;
  /** D-value of the telephone, send side. */
  Ds: number;
  /** Talker echo loudness rating. */
  TELR: number;
  /** Weighted echo path loss. */
  WEPL: number;
  /** Mean one-way delay of the echo path (ms). */
  T: number;
  /** Round-trip delay in a 4-wire loop (ms). */
  Tr: number;
  /** Absolute one-way delay in echo-free connections (ms). */
  Ta: number;
  /** Number of quantization distortion units. */
  qdu: number;
  /** Equipment impairment factor of the codec. */
  Ie: number;
  /** Packet-loss robustness factor of the codec (with its concealment). */
  Bpl: number;
  /** Packet-loss probability, in percent. */
  Ppl: number;
  /** Burst ratio: 1 for random loss, > 1 for bursty loss. */
  BurstR: number;
  /** Circuit noise referred to the 0 dBr point (dBm0p). */
  Nc: number;
  /** Noise floor at the receive side (dBmp). */
  Nfor: number;
  /** Room noise at the send side (dB(A)). */
  Ps: number;
  /** Room noise at the receive side (dB(A)). */
  Pr: number;
  /** Advantage factor (0 for wired telephony). */
  A: number;
  /** Delay sensitivity (G.107 2014+): Idd starts at mT ms and grows with sharpness sT. */
  mT: number;
  sT: number;
}

/** G.107 §7.7, Table 3. */
export const G107_DEFAULTS: Readonly<EModelParameters> = Object.freeze({
  SLR: 8,
  RLR: 2,
  STMR: 15,
  LSTR: 18,
  Ds: 3,
  TELR: 65,
  WEPL: 110,
  T: 0,
  Tr: 0,
  Ta: 0,
  qdu: 1,
  Ie: 0,
  Bpl: 1,
  Ppl: 0,
  BurstR: 1,
  Nc: -70,
  Nfor: -64,
  Ps: 35,
  Pr: 35,
  A: 0,
  mT: 100,
  sT: 1,
});

/** The parts of R, for a record that wants to say why a call rated as it did. */
export interface EModelResult {
  R: number;
  Ro: number;
  Is: number;
  Id: number;
  IeEff: number;
  A: number;
}

const log10 = Math.log10;
const pow = Math.pow;

/** R and its parts for the given parameters (the rest at their defaults). Throws RangeError on an impossible input. */
export function eModel(input: Partial<EModelParameters> = {}): EModelResult {
  const p: EModelParameters = { ...G107_DEFAULTS, ...input };
  for (const [key, value] of Object.entries(p)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new RangeError(`E-model ${key} must be a finite number, got ${String(value)}`);
  }
  if (p.T < 0 || p.Ta < 0 || p.Tr < 0) throw new RangeError('E-model delays T, Ta and Tr must be ≥ 0');
  if (p.Ppl < 0 || p.Ppl > 100) throw new RangeError(`E-model Ppl is a percentage in [0, 100], got ${p.Ppl}`);
  if (p.BurstR < 1) throw new RangeError(`E-model BurstR must be ≥ 1, got ${p.BurstR}`);
  if (p.Bpl <= 0) throw new RangeError(`E-model Bpl must be > 0, got ${p.Bpl}`);
  if (p.qdu < 1) throw new RangeError(`E-model qdu must be ≥ 1, got ${p.qdu}`);
  if (p.mT <= 0 || p.sT <= 0) throw new RangeError('E-model mT and sT must be > 0');

  // §7.2 Basic signal-to-noise ratio.
  const OLR = p.SLR + p.RLR;
  const Nos = p.Ps - p.SLR - p.Ds - 100 + 0.004 * (p.Ps - OLR - p.Ds - 14) ** 2;
  const Pre = p.Pr + 10 * log10(1 + pow(10, (10 - p.LSTR) / 10));
  const Nor = p.RLR - 121 + Pre + 0.008 * (Pre - 35) ** 2;
  const Nfo = p.Nfor + p.RLR;
  const No = 10 * log10(pow(10, p.Nc / 10) + pow(10, Nos / 10) + pow(10, Nor / 10) + pow(10, Nfo / 10));
  const Ro = 15 - 1.5 * (p.SLR + No);

  // §7.3 Simultaneous impairment factor.
  const Xolr = OLR + 0.2 * (64 + No - p.RLR);
  const Iolr = 20 * (pow(1 + pow(Xolr / 8, 8), 1 / 8) - Xolr / 8);
  const STMRo = -10 * log10(pow(10, -p.STMR / 10) + Math.exp(-p.T / 4) * pow(10, -p.TELR / 10));
  const Ist =
    12 * pow(1 + pow((STMRo - 13) / 6, 8), 1 / 8) -
    28 * pow(1 + pow((STMRo + 1) / 19.4, 35), 1 / 35) -
    13 * pow(1 + pow((STMRo - 3) / 33, 13), 1 / 13) +
    29;
  const Q = 37 - 15 * log10(p.qdu);
  const G = 1.07 + 0.258 * Q + 0.0602 * Q * Q;
  const Y = (Ro - 100) / 15 + 46 / 8.4 - G / 9;
  const Z = 46 / 30 - G / 40;
  const Iq = 15 * log10(1 + pow(10, Y) + pow(10, Z));
  const Is = Iolr + Ist + Iq;

  // §7.4 Delay impairment factor: talker echo, listener echo, absolute delay.
  const Roe = -1.5 * (No - p.RLR);
  let TERV = p.TELR - 40 * log10((1 + p.T / 10) / (1 + p.T / 150)) + 6 * Math.exp(-0.3 * p.T * p.T);
  if (p.STMR < 9) TERV += Ist / 2;
  const Re = 80 + 2.5 * (TERV - 14);
  let Idte = ((Roe - Re) / 2 + Math.sqrt((Roe - Re) ** 2 / 4 + 100) - 1) * (1 - Math.exp(-p.T));
  if (p.STMR > 20) Idte = Math.sqrt(Idte * Idte + Ist * Ist);
  const Rle = 10.5 * (p.WEPL + 7) * pow(p.Tr + 1, -0.25);
  const Idle = (Ro - Rle) / 2 + Math.sqrt((Ro - Rle) ** 2 / 4 + 169);
  let Idd = 0;
  if (p.Ta > p.mT) {
    const X = log10(p.Ta / p.mT) / log10(2);
    const s6 = 6 * p.sT;
    Idd = 25 * (pow(1 + pow(X, s6), 1 / s6) - 3 * pow(1 + pow(X / 3, s6), 1 / s6) + 2);
  }
  const Id = Idte + Idle + Idd;

  // §7.5 Effective equipment impairment factor (packet loss).
  const IeEff = p.Ie + ((95 - p.Ie) * p.Ppl) / (p.Ppl / p.BurstR + p.Bpl);

  return { R: Ro - Is - Id - IeEff + p.A, Ro, Is, Id, IeEff, A: p.A };
}

/** G.107 Annex B: the estimated conversational MOS (1 … 4.5) for a rating R. */
export function mosFromR(R: number): number {
  if (Number.isNaN(R)) throw new RangeError('R must be a number');
  if (R <= 0) return 1;
  if (R >= 100) return 4.5;
  // The cubic dips a hair below 1 for R < 6.5; MOS has no value below 1.
  return Math.max(1, 1 + 0.035 * R + R * (R - 60) * (100 - R) * 7e-6);
}

/**
 * Equipment impairment (Ie) and packet-loss robustness (Bpl) per codec, from
 * G.113 Appendix I: G.711 Ie = 0, Bpl = 25.1 with packet-loss concealment.
 * Tandem conceals every lost frame (repeat-and-fade), so the PLC figure applies;
 * its concealment is simpler than G.711 Appendix I's, which makes this an
 * optimistic estimate under loss. L16 carries no companding distortion, but
 * G.107 is a narrowband model with no entry for it: it is rated as G.711 (a
 * wideband call rates on G.107's narrowband scale, capped at 4.5).
 */
export const CODEC_IMPAIRMENT: Readonly<Record<CodecName, { Ie: number; Bpl: number }>> = Object.freeze({
  ulaw: { Ie: 0, Bpl: 25.1 },
  alaw: { Ie: 0, Bpl: 25.1 },
  slin: { Ie: 0, Bpl: 25.1 },
  slin16: { Ie: 0, Bpl: 25.1 },
});

export interface CallQualityInput {
  codec: CodecName;
  /** Frames lost to the listener (network loss and frames the jitter buffer discarded), in percent. */
  lossPct: number;
  /** One-way mouth-to-ear delay estimate, ms. */
  oneWayDelayMs: number;
  /** 1 = random loss (default). */
  burstRatio?: number;
}

export interface CallQuality {
  R: number;
  mos: number;
  IeEff: number;
  Id: number;
}

/**
 * R and MOS for one direction of a call. The delay stands for the echo path
 * and the absolute delay alike (T = Ta = delay, Tr = 2·delay: G.107's advice
 * when the echo path is unknown); every other parameter keeps its default
 * (a well-designed handset in a quiet room, echo controlled to TELR 65 dB).
 */
export function estimateCallQuality(input: CallQualityInput): CallQuality {
  const codec = CODEC_IMPAIRMENT[input.codec];
  if (codec === undefined) throw new RangeError(`no E-model impairment for codec ${String(input.codec)}`);
  const delay = input.oneWayDelayMs;
  if (!Number.isFinite(delay) || delay < 0) throw new RangeError(`oneWayDelayMs must be ≥ 0, got ${delay}`);
  const result = eModel({ Ie: codec.Ie, Bpl: codec.Bpl, Ppl: input.lossPct, BurstR: input.burstRatio ?? 1, T: delay, Ta: delay, Tr: 2 * delay });
  return { R: result.R, mos: mosFromR(result.R), IeEff: result.IeEff, Id: result.Id };
}
