export { runLoadTest, LoadTestError, type LoadTestOptions, type LoadTestProgress, type LoadTestErrorCode } from './orchestrator.js';
export { formatReport, reportToJson, HEAP_GROWTH_TOLERANCE_MB, type LoadTestReport, type DirectionReport, type EngineCounters, type GeneratorHealth } from './report.js';
export { Histogram, latencyHistogram, jitterHistogram, type HistogramSnapshot } from './histogram.js';
export { writeFrameTag, readFrameTag, FRAME_TAG_BYTES, FRAME_TAG_COUNTER_MASK } from './frame-tag.js';
export { loadSpeechAudio, synthesizeSpeech, toneSweep, type SpeechAudio } from './speech.js';
export { sampleHeap, type HeapSample } from './heap-probe.js';
export { startCpuProfiling, type CpuProfiling } from './cpu-profiler.js';
export { parseUdpCounters, readUdpCounters, readSchedTimes, schedWaitPct, machineInfo, type UdpCounters, type SchedTimes, type MachineInfo } from './system-counters.js';
export { mergeCoreResults } from './result-merge.js';
