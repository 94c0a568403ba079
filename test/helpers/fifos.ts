/**
 * FIFOs planted where a regular file is expected. A reader stuck in open() on one (the bug the
 * adversarial tests look for) is released by a writer opening it; otherwise a failing case would
 * leave a pool thread blocked and the test process unable to exit.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, rmSync } from 'node:fs';

export class PlantedFifos {
  private readonly files: string[] = [];

  plant(file: string): void {
    rmSync(file, { force: true });
    execFileSync('mkfifo', [file]);
    this.files.push(file);
  }

  /** Opens each planted FIFO for writing until no reader waits on it (call in afterEach). */
  release(): void {
    for (const f of this.files.splice(0)) {
      for (let i = 0; i < 4; i++) {
        try {
          closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
        } catch {
          break; // ENXIO: no reader is waiting
        }
      }
    }
  }
}
