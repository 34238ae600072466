import { describe, expect, it } from 'vitest';
import { CODEC_IMPAIRMENT, G107_DEFAULTS, eModel, estimateCallQuality, mosFromR } from '../../../control/src/records/e-model.js';

describe('ITU-T G.107 E-model', () => {
  it('rates the default connection (Table 3) at R = 93.2', () => {
    const r = eModel();
    // G.107 §7.7: "the default values … result in a very high quality with a rating factor of R = 93.2".
    expect(r.R).toBeCloseTo(93.2, 1);
    // An independent implementation (manucorporat/e-model, Go) prints R = 93.206208 for the same inputs.
    expect(r.R).toBeCloseTo(93.206208, 5);
    expect(r.IeEff).toBe(0);
    expect(r.A).toBe(0);
    expect(eModel(G107_DEFAULTS).R).toBe(r.R);
  });

  it('maps R to MOS as Annex B does (G.109 category boundaries)', () => {
    // The published figures are given to two decimals (4.03 for R = 80 is 4.024 exactly).
    const published: Array<[number, number]> = [[93.2, 4.41], [90, 4.34], [80, 4.03], [70, 3.6], [60, 3.1], [50, 2.58]];
    for (const [R, mos] of published) expect(Math.abs(mosFromR(R) - mos)).toBeLessThan(0.01);
    expect(mosFromR(-5)).toBe(1);
    expect(mosFromR(0)).toBe(1);
    expect(mosFromR(3)).toBe(1); // the cubic dips below 1 there; MOS does not
    expect(mosFromR(100)).toBe(4.5);
    expect(mosFromR(120)).toBe(4.5);
    expect(() => mosFromR(Number.NaN)).toThrow(RangeError);
  });

  it('Ie,eff for random loss: Ie + (95 − Ie)·Ppl / (Ppl/BurstR + Bpl), G.711 with PLC Bpl = 25.1 (G.113 Appendix I)', () => {
    expect(CODEC_IMPAIRMENT.ulaw).toEqual({ Ie: 0, Bpl: 25.1 });
    const at = (Ppl: number, BurstR = 1) => eModel({ Ie: 0, Bpl: 25.1, Ppl, BurstR }).IeEff;
    // By hand: 95·1/26.1, 95·2/27.1, 95·5/30.1, and bursty 95·2/(2/2 + 25.1).
    expect(at(1)).toBeCloseTo(3.6398, 4);
    expect(at(2)).toBeCloseTo(7.0111, 4);
    expect(at(5)).toBeCloseTo(15.7807, 4);
    expect(at(2, 2)).toBeCloseTo(7.2797, 4);
    expect(eModel({ Bpl: 25.1, Ppl: 2 }).R).toBeCloseTo(93.206208 - 7.0111, 3);
  });

  it('Idd is 0 up to Ta = 100 ms (mT) and 25·((1+X⁶)^⅙ − 3(1+(X/3)⁶)^⅙ + 2) beyond, X = log2(Ta/100)', () => {
    const base = eModel().Id;
    expect(eModel({ Ta: 100 }).Id).toBe(base);
    // Ta = 200 ms → X = 1: 25·(2^⅙ − 3·(1 + 3⁻⁶)^⅙ + 2) = 3.0444 (T = Tr = 0: no echo terms change).
    expect(eModel({ Ta: 200 }).Id - base).toBeCloseTo(3.0444, 3);
    // Ta = 400 ms → X = 2: 25·(65^⅙ − 3·(1 + (2/3)⁶)^⅙ + 2) = 25·(2.00517 − 3.04237 + 2) = 24.070.
    expect(eModel({ Ta: 400 }).Id - base).toBeCloseTo(24.07, 2);
  });

  it('talker and listener echo grow with the echo path delay (T, Tr)', () => {
    const quiet = eModel();
    const echo = eModel({ T: 150, Tr: 300 });
    expect(echo.Id).toBeGreaterThan(quiet.Id);
    expect(echo.Ro).toBe(quiet.Ro);
  });

  it('refuses inputs outside the model', () => {
    expect(() => eModel({ Ppl: -1 })).toThrow(RangeError);
    expect(() => eModel({ Ppl: 101 })).toThrow(RangeError);
    expect(() => eModel({ T: -1 })).toThrow(RangeError);
    expect(() => eModel({ BurstR: 0.5 })).toThrow(RangeError);
    expect(() => eModel({ Bpl: 0 })).toThrow(RangeError);
    expect(() => eModel({ Ie: Number.NaN })).toThrow(/Ie must be a finite number/);
  });
});

describe('estimateCallQuality (one direction of a call)', () => {
  it('a clean G.711 call with little delay rates close to the best narrowband can', () => {
    const q = estimateCallQuality({ codec: 'ulaw', lossPct: 0, oneWayDelayMs: 40 });
    expect(q.IeEff).toBe(0);
    expect(q.R).toBeLessThan(93.21);
    expect(q.R).toBeGreaterThan(91);
    expect(q.mos).toBeGreaterThan(4.3);
    expect(q.mos).toBeLessThanOrEqual(4.41);
  });

  it('loss and delay each lower the rating, monotonically', () => {
    const mos = (lossPct: number, oneWayDelayMs = 40) => estimateCallQuality({ codec: 'alaw', lossPct, oneWayDelayMs }).mos;
    const byLoss = [0, 1, 3, 10, 30].map((l) => mos(l));
    for (let i = 1; i < byLoss.length; i++) expect(byLoss[i]!).toBeLessThan(byLoss[i - 1]!);
    expect(mos(10)).toBeLessThan(3.6); // 10 % random loss: "many users dissatisfied" or worse
    const byDelay = [0, 50, 150, 300, 500].map((d) => mos(0, d));
    for (let i = 1; i < byDelay.length; i++) expect(byDelay[i]!).toBeLessThan(byDelay[i - 1]!);
  });

  it('uses Tr = 2T and Ta = T', () => {
    const q = estimateCallQuality({ codec: 'slin16', lossPct: 0, oneWayDelayMs: 250 });
    expect(q.R).toBeCloseTo(eModel({ T: 250, Ta: 250, Tr: 500, Bpl: 25.1 }).R, 9);
    expect(() => estimateCallQuality({ codec: 'ulaw', lossPct: 0, oneWayDelayMs: -1 })).toThrow(RangeError);
    expect(() => estimateCallQuality({ codec: 'opus' as 'ulaw', lossPct: 0, oneWayDelayMs: 1 })).toThrow(/no E-model impairment/);
  });
});
