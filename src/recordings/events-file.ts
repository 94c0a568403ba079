import type { RecordingFile, RecordingFileOpener } from '../streams/open-source.js';
import type { RecordedLine } from './recording-meta.js';

/**
 * A recording's events.jsonl, appended one line per event with one write each, so a killed
 * daemon leaves every line written before it died (and at most one cut-off line, dropped when the
 * recording is closed at the next start). Write errors are thrown, with the system's code.
 */
export class EventsFile {
  private readonly file: RecordingFile;
  private pos = 0;
  lines = 0;

  constructor(path: string, open: RecordingFileOpener) {
    this.file = open(path);
  }

  get bytes(): number {
    return this.pos;
  }

  append(line: RecordedLine): void {
    const buf = Buffer.from(JSON.stringify(line) + '\n', 'utf8');
    this.file.write(buf, this.pos);
    this.pos += buf.length;
    this.lines++;
  }

  close(): void {
    this.file.close();
  }
}
