import type { DatagramPeer } from './datagram-port.js';

interface Entry<T> {
  readonly ipv4: number;
  readonly value: T;
  next: Entry<T> | null;
}

/**
 * Which leg a datagram on a shared port belongs to, by its source address.
 * Asterisk sends each externalMedia channel's RTP from its own
 * UNICASTRTP_LOCAL_ADDRESS:PORT, so the source names the leg; anything not
 * registered is foreign (the caller drops and counts it: strict RTP).
 * Keyed by port first (a small integer), then the address, so a lookup
 * allocates nothing; several Asterisk hosts may use the same port.
 */
export class SourceDemux<T> {
  readonly #byPort = new Map<number, Entry<T>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Registers `value` for datagrams from `peer`. False (and nothing changed) when the source is taken. */
  add(peer: DatagramPeer, value: T): boolean {
    const head = this.#byPort.get(peer.port) ?? null;
    for (let e = head; e !== null; e = e.next) if (e.ipv4 === peer.ipv4) return false;
    this.#byPort.set(peer.port, { ipv4: peer.ipv4, value, next: head });
    this.#size++;
    return true;
  }

  /** Removes the source; false when it was not registered. */
  delete(peer: DatagramPeer): boolean {
    let prev: Entry<T> | null = null;
    for (let e = this.#byPort.get(peer.port) ?? null; e !== null; prev = e, e = e.next) {
      if (e.ipv4 !== peer.ipv4) continue;
      if (prev !== null) prev.next = e.next;
      else if (e.next !== null) this.#byPort.set(peer.port, e.next);
      else this.#byPort.delete(peer.port);
      this.#size--;
      return true;
    }
    return false;
  }

  get(ipv4: number, port: number): T | undefined {
    for (let e = this.#byPort.get(port) ?? null; e !== null; e = e.next) if (e.ipv4 === ipv4) return e.value;
    return undefined;
  }
}
