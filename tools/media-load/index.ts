export { runLoadTest } from './orchestrator.js';
export { type LoadTestOptions, type LoadTestProgress } from './load-options.js';
export { LoadTestError, type LoadTestErrorCode } from './errors.js';
export { buildTimeline } from './timeline.js';
export { findKnee } from './ramp-controller.js';
export { coarseLatencyHistogram } from './generator-summary.js';
export {
  formatReport,
  reportToJson,
  round,
  HEAP_GROWTH_TOLERANCE_MB,
  type LoadTestReport,
  type DirectionReport,
  type EngineCounters,
  type GeneratorHealth,
  type TimelineSample,
  type ImpairmentReport,
  type RampReport,
  type RampStopReason,
} from './report.js';
export { Histogram, latencyHistogram, jitterHistogram, type HistogramSnapshot } from './histogram.js';
export { writeFrameTag, readFrameTag, writeFrameTagL16, readFrameTagL16, FRAME_TAG_BYTES, FRAME_TAG_L16_BYTES, FRAME_TAG_COUNTER_MASK } from './frame-tag.js';
export { audioForCodec, loadCodecFormat, isLoadCodecName, LOAD_CODECS, type LoadCodecName, type LoadCodecFormat } from './load-codec.js';
export { DelayWheel } from './delay-wheel.js';
export { NO_IMPAIRMENT, type Impairment, type WindowSample } from './generator-protocol.js';
export { linePlot, histogramPlot, niceTicks, escapeXml, type PlotSeries, type LinePlotOptions, type HistogramPlotOptions } from './plot-svg.js';
export { renderHtmlReport, mainPlotSvg, latencyHistogramSvg, lossCpuSvg, pairsLatencySvg, pairsCpuSvg } from './html-report.js';
export { renderPng, PNG_SIGNATURE } from './png-render.js';
export { loadSpeechAudio, synthesizeSpeech, toneSweep, type SpeechAudio } from './speech.js';
export { sampleHeap, type HeapSample } from './heap-probe.js';
export { startCpuProfiling, type CpuProfiling } from './cpu-profiler.js';
export { parseUdpCounters, readUdpCounters, readSchedTimes, schedWaitPct, machineInfo, type UdpCounters, type SchedTimes, type MachineInfo } from './system-counters.js';
export { mergeCoreResults, mergeWindows } from './result-merge.js';
export { type GeneratorCoreKind } from './native-core.js';
