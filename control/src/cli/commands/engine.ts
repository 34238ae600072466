import { Option, type Command } from 'commander';
import { MediaEngine } from '../../../../engine/src/index.js';
import { logger } from '../../../../common/src/logger.js';
import { addEngineOptions, engineConfigFromFlags, parseInteger, type EngineFlags } from './engine-options.js';
import { untilSignal } from './signals.js';

interface EngineCommandFlags extends EngineFlags {
  openPairs: number;
  statsEvery: number;
}

/**
 * `tandem engine`: the media engine alone. With --open-pairs it opens pairs at
 * start (pair_001 = 7000/7001, ...) whose legs latch onto the first RTP source
 * that passes probation (probationPackets consecutive packets), so any RTP
 * sender can exercise it without a control plane.
 */
export function registerEngineCommand(program: Command): void {
  addEngineOptions(
    program
      .command('engine')
      .description('start the media engine (worker pool, paced playout, mirrored injection)')
      .addOption(new Option('--open-pairs <n>', 'open this many pairs at start and print their leg ports').default(0).argParser(parseInteger))
      .addOption(new Option('--stats-every <seconds>', 'log engine counters this often (0 = never)').default(10).argParser(parseInteger)),
  ).action(async (flags: EngineCommandFlags) => {
    const log = logger('cli.engine');
    if (flags.codec === 'slin16' || flags.codec === 'slin') {
      // Fine for any other RTP peer (the load generator); Asterisk's UnicastRTP channels would leave calls silent.
      log.warn({ codec: flags.codec }, `legs speak ${flags.codec} over RTP: Asterisk's UnicastRTP externalMedia does not play it (docs/wideband-media.md); use ulaw with Asterisk`);
    }
    const engine = await MediaEngine.start(engineConfigFromFlags(flags));
    try {
      for (let i = 1; i <= flags.openPairs; i++) {
        const pairId = `pair_${String(i).padStart(3, '0')}`;
        const base = 7000 + (i - 1) * 2;
        // Nobody will tell these legs where their peer is: they may latch.
        const opened = await engine.openPair({ pairId, extA: String(base), extB: String(base + 1), latch: true });
        process.stdout.write(`${pairId}  A ${opened.legA.address}:${opened.legA.port}  B ${opened.legB.address}:${opened.legB.port}\n`);
      }
      process.stdout.write(`engine running with ${engine.config.workers} workers on ${engine.config.bindAddress}; Ctrl-C stops it\n`);
      const timer =
        flags.statsEvery > 0
          ? setInterval(() => {
              engine.stats().then(
                (s) => log.info({ pairs: s.pairs, sockets: s.sockets, shards: s.shards.map((x) => ({ shard: x.shard, pairs: x.pairs, lateTicks: x.lateTicks })) }, 'engine stats'),
                (err: unknown) => log.warn({ err }, 'stats failed'),
              );
            }, flags.statsEvery * 1000)
          : null;
      const signal = await untilSignal();
      if (timer) clearInterval(timer);
      log.info({ signal }, 'stopping');
    } finally {
      await engine.close();
    }
  });
}
