/** Arrivals whose RTP sequence number is below one that arrived before them (mod 2^16): the packets that came out of order. */
export function inversions(seqs: readonly number[]): number {
  let n = 0;
  let max = seqs[0] ?? 0;
  for (const s of seqs.slice(1)) {
    const ahead = (s - max + 0x10000) & 0xffff;
    if (ahead !== 0 && ahead < 0x8000) max = s;
    else if (ahead !== 0) n++;
  }
  return n;
}
