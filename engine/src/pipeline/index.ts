export type { Direction, FrameStatus, MediaFrame, PipelineStage, StageContext, StageFactory } from './stage.js';
export { IdentityStage, identityStageFactory } from './identity-stage.js';
export * from './streaming/index.js';
