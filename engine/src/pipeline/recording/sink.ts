/**
 * Where a recording's bytes go: a file written at explicit positions. The
 * recorder only ever talks to this interface, so tests can put a slow or
 * failing sink in front of a real file.
 */
import { open } from 'node:fs/promises';

export interface RecordingSink {
  /** Writes all of `data` at byte `position` (writes may be in flight concurrently, at distinct positions). */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Sets the file's length; a longer length reads as zeros (silence). */
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/** Opens (creates) the sink for a recording path. Must refuse to overwrite an existing file. */
export type RecordingSinkOpener = (path: string) => Promise<RecordingSink>;

/** Recordings hold what people said: owner read/write, group read, nothing for others. */
export const RECORDING_FILE_MODE = 0o640;

/** The default sink: a new file (never an existing one), mode 0640 regardless of the umask. */
export const openFileSink: RecordingSinkOpener = async (path) => {
  const handle = await open(path, 'wx', RECORDING_FILE_MODE);
  try {
    await handle.chmod(RECORDING_FILE_MODE);
  } catch (err) {
    await handle.close();
    throw err;
  }
  return {
    async write(data, position) {
      // pwrite may write less than asked; loop until all of it is down.
      for (let done = 0; done < data.length; ) {
        const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
        if (bytesWritten <= 0) throw new Error(`short write at ${position + done}`);
        done += bytesWritten;
      }
    },
    truncate: (length) => handle.truncate(length),
    close: () => handle.close(),
  };
};
