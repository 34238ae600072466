/** Task module of the transcoding pool (OpusTranscoder): one WAV to Ogg/Opus per task. */
import { transcodeWavToOggOpus, type OpusTranscodeResult } from './opus-transcode.js';

export default function transcode(task: { wavPath: string; oggPath: string }): Promise<OpusTranscodeResult> {
  return transcodeWavToOggOpus(task.wavPath, task.oggPath);
}
