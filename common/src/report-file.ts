import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes a report (JSON, HTML, PNG) after a run, creating its folder first: a
 * load run that took minutes must not be lost to a missing `reports/`.
 */
export function writeReportFile(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}
