import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import { writeReportFile } from '../../common/src/report-file.js';
import { addCodecBenches } from './codec.bench.js';
import { addHotPathBenches } from './hot-path.bench.js';
import { addJitterBenches } from './jitter.bench.js';
import { addRtpBenches } from './rtp.bench.js';
import { addSourceBenches } from './source.bench.js';
import { addStreamingBenches } from './streaming.bench.js';
import { addOpenAiRealtimeBenches } from './realtime.bench.js';
import { addVadBenches } from './vad.bench.js';

/**
 * `npm run bench`: tinybench over the per-packet hot path, one suite per hot
 * module. Prints ns/op and writes the same figures as JSON (--json FILE).
 */
export interface BenchResult {
  name: string;
  nsPerOp: number;
  opsPerSec: number;
  rme: number;
  samples: number;
}

export async function runBenches(timeMs = 500): Promise<BenchResult[]> {
  const bench = new Bench({ time: timeMs, warmupTime: 100 });
  addRtpBenches(bench);
  addCodecBenches(bench);
  addJitterBenches(bench);
  addSourceBenches(bench);
  addHotPathBenches(bench);
  addStreamingBenches(bench);
  addOpenAiRealtimeBenches(bench);
  addVadBenches(bench);
  await bench.run();
  return bench.tasks.map((task) => {
    const result = task.result;
    if (!result || !('latency' in result)) throw new Error(`benchmark ${task.name} produced no result`);
    const meanMs = result.latency.mean;
    return {
      name: task.name,
      nsPerOp: meanMs * 1e6,
      opsPerSec: result.throughput.mean,
      rme: result.latency.rme,
      samples: result.latency.samplesCount,
    };
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'string' }, time: { type: 'string' } } });
  const results = await runBenches(values.time ? Number(values.time) : 500);
  const width = Math.max(...results.map((r) => r.name.length));
  process.stdout.write(`machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, node ${process.version}\n`);
  for (const r of results) {
    process.stdout.write(`${r.name.padEnd(width)}  ${r.nsPerOp.toFixed(1).padStart(10)} ns/op  ±${r.rme.toFixed(1)}%\n`);
  }
  if (values.json) {
    writeReportFile(values.json, JSON.stringify({ machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, results }, null, 2));
    process.stdout.write(`wrote ${values.json}\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
