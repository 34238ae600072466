import type { MediaFrame, PipelineStage } from './stage.js';

/** Passes each frame straight through: the mirror (A's audio into B, B's into A). */
export class IdentityStage implements PipelineStage {
  #closed = false;

  process(frame: MediaFrame | null): MediaFrame | null {
    return this.#closed ? null : frame;
  }

  flush(): void {}

  close(): void {
    this.#closed = true;
  }
}

export const identityStageFactory = (): IdentityStage => new IdentityStage();
