import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeReportFile } from '../../../common/src/report-file.js';

describe('writeReportFile', () => {
  it('creates the missing folders of a report path and writes text and bytes', () => {
    const root = mkdtempSync(join(tmpdir(), 'tandem-report-'));
    try {
      const text = join(root, 'reports', 'runs', 'load.json');
      writeReportFile(text, '{"pairs":500}\n');
      expect(readFileSync(text, 'utf8')).toBe('{"pairs":500}\n');
      const bytes = join(root, 'reports', 'plot.png');
      writeReportFile(bytes, Uint8Array.of(0x89, 0x50, 0x4e, 0x47));
      expect([...readFileSync(bytes)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
