import type { RecordingSummary } from '../../../engine/src/index.js';
import type { EndedCall } from '../calls/index.js';
import { RecordingJoin, buildCallRecord, callRecording, type CallRecord, type CallRecords } from '../records/index.js';

/**
 * Every ended call becomes a record (docs/call-records.md), and its recording joins it once the file is
 * complete (docs/recordings.md): a file already complete when the call ends (a WAV closes with the pair)
 * goes in with the record; one completed later (Opus encoding) is attached to it afterwards.
 */
export function recordCalls(options: {
  app: { on(event: 'callended', listener: (call: EndedCall) => void): unknown };
  engine: { on(event: 'recording', listener: (pairId: string, summary: RecordingSummary) => void): unknown };
  records: CallRecords;
  node: string;
  /** Told of each record as it is made (the metrics). */
  onRecord: (record: CallRecord, call: EndedCall) => void;
}): void {
  const { records, node } = options;
  const recordings = new RecordingJoin();
  options.app.on('callended', (call) => {
    const record = buildCallRecord(call, { node });
    const recordedTo = call.engine?.recording?.path;
    if (recordedTo !== undefined) record.recording = recordings.callEnded(recordedTo, record.id);
    records.add(record);
    options.onRecord(record, call);
  });
  options.engine.on('recording', (_pairId, summary) => {
    const recording = callRecording(summary);
    const recordId = recording === null ? null : recordings.recordingDone(recording);
    if (recording !== null && recordId !== null) records.attachRecording(recordId, recording);
  });
}
