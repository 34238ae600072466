/**
 * Bridge operations as recorded in s1/s2/s6: create with bridgeId/name (409 on
 * a taken id, either route), add/remove channels (comma lists), destroy. A
 * bridge is never destroyed because it empties; BridgeDestroyed goes only to
 * apps that had a channel in it.
 */
import { randomUUID } from 'node:crypto';
import { ev } from './events.js';
import { asteriskTime, bridgeJson, type BridgeJson, type SimBridge, type SimChannel } from './model.js';
import type { RequestParams } from './params.js';
import { fail, noContent, ok, type Reply } from './reply.js';
import type { SimState } from './state.js';

const BRIDGE_ATTRIBUTES = ['mixing', 'holding', 'dtmf_events', 'proxy_media', 'video_sfu', 'video_single', 'sdp_label'];

export class BridgeOps {
  readonly #state: SimState;

  constructor(state: SimState) {
    this.#state = state;
  }

  list(): BridgeJson[] {
    return [...this.#state.bridges.values()].map(bridgeJson);
  }

  get(p: RequestParams): Reply {
    const br = this.#state.bridges.get(p.path['bridgeId'] ?? '');
    return br ? ok(bridgeJson(br)) : fail(404, 'Bridge not found', 'Not found');
  }

  create(p: RequestParams, requestedId: string | undefined): Reply {
    const id = requestedId ?? randomUUID();
    if (this.#state.bridges.has(id)) return fail(409, `Bridge with id '${id}' already exists`);
    const attrs = (p.get('type') ?? 'mixing').split(',').map((s) => s.trim());
    if (attrs.some((a) => !BRIDGE_ATTRIBUTES.includes(a))) {
      // Recorded (s6) for type=nonsense: Asterisk blames a duplicate id.
      return fail(500, `Unable to create bridge. Possible duplicate bridge id '${id}'`, 'Internal Error');
    }
    const br: SimBridge = {
      id,
      name: p.get('name') ?? '',
      bridgeType: attrs.includes('holding') ? 'holding' : 'mixing',
      creationtime: asteriskTime(),
      channelIds: [],
      apps: new Set(),
    };
    this.#state.bridges.set(id, br);
    return ok(bridgeJson(br));
  }

  destroy(p: RequestParams): Reply {
    const br = this.#state.bridges.get(p.path['bridgeId'] ?? '');
    if (!br) return fail(404, 'Bridge not found', 'Not found');
    return this.#state.ordered(noContent(), () => {
      for (const chId of [...br.channelIds]) {
        const ch = this.#state.channels.get(chId);
        if (ch) this.#state.leaveBridge(ch);
      }
      this.#state.bridges.delete(br.id);
      for (const app of br.apps) this.#state.apps.send(app, ev.bridgeDestroyed(br));
    });
  }

  addChannels(p: RequestParams): Reply {
    const found = this.#lookup(p);
    if ('status' in found) return found;
    const { br, chans } = found;
    for (const ch of chans) if (!ch.inStasis) return fail(422, 'Channel not in Stasis application');
    return this.#state.ordered(noContent(), () => {
      for (const ch of chans) {
        if (ch.bridgeId === br.id) continue;
        // A channel in another bridge moves: it leaves that one first.
        this.#state.leaveBridge(ch);
        br.channelIds.push(ch.id);
        br.apps.add(ch.app);
        ch.bridgeId = br.id;
        this.#state.emit(ch, ev.enteredBridge(br, ch));
        this.#state.updateConnectedLine(br);
      }
    });
  }

  removeChannels(p: RequestParams): Reply {
    const found = this.#lookup(p);
    if ('status' in found) return found;
    const { br, chans } = found;
    for (const ch of chans) if (ch.bridgeId !== br.id) return fail(422, 'Channel not in this bridge');
    return this.#state.ordered(noContent(), () => chans.forEach((ch) => this.#state.leaveBridge(ch)));
  }

  /** The bridge (404 if missing) and every named channel (400 if one is missing), as recorded in s2. */
  #lookup(p: RequestParams): { br: SimBridge; chans: SimChannel[] } | Reply {
    const ids = p.all('channel');
    if (ids.length === 0) return fail(400, 'Missing parameter channel');
    const br = this.#state.bridges.get(p.path['bridgeId'] ?? '');
    if (!br) return fail(404, 'Bridge not found', 'Not found');
    const chans: SimChannel[] = [];
    for (const id of ids) {
      const ch = this.#state.channels.get(id);
      if (!ch) return fail(400, 'Channel not found');
      chans.push(ch);
    }
    return { br, chans };
  }
}
