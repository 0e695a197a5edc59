import { EmbeddingRunner } from '@vmm/embedding';
import { type BatchingOptions, LlmRunner } from '@vmm/llm';
import type { ModelFolder, SessionOptions } from '@vmm/runtime';
import { VisionRunner } from '@vmm/vision';

/** A loaded model: a text generator, a vision model or an embedding model, each in its own thread. */
export type ModelRunner =
  | { kind: 'llm'; runner: LlmRunner }
  | { kind: 'vision'; runner: VisionRunner }
  | { kind: 'embedding'; runner: EmbeddingRunner };

export interface RunnerSettings {
  session: SessionOptions;
  visionMaxBatch: number;
  /** Vision images prepared on a thread of their own; undefined: VisionRunner decides. */
  visionPreprocessThread?: boolean | undefined;
  /** Lanes of a CPU vision model of a fixed batch of 1; undefined: VisionRunner's default. */
  visionLanes?: number | undefined;
  /** Inputs per encoder run. */
  embeddingMaxBatch: number;
  maxImagePixels: number;
  /** Pictures per request to a vision-language model. */
  maxChatImages: number;
  /** How text models batch their sequences. */
  batching: Partial<BatchingOptions>;
}

/** Opens the runner a model folder needs. */
export async function openRunner(
  folder: ModelFolder,
  file: string,
  settings: RunnerSettings,
): Promise<ModelRunner> {
  if (folder.task === 'text-generation') {
    return {
      kind: 'llm',
      runner: await LlmRunner.open({
        dir: folder.dir,
        file,
        session: settings.session,
        batching: settings.batching,
        images: { maxImages: settings.maxChatImages, maxPixels: settings.maxImagePixels },
      }),
    };
  }
  if (folder.task === 'embedding') {
    return {
      kind: 'embedding',
      runner: await EmbeddingRunner.open({
        dir: folder.dir,
        file,
        session: settings.session,
        maxBatch: settings.embeddingMaxBatch,
      }),
    };
  }
  return {
    kind: 'vision',
    runner: await VisionRunner.open({
      folder,
      file,
      session: settings.session,
      maxBatch: settings.visionMaxBatch,
      maxPixels: settings.maxImagePixels,
      ...(settings.visionLanes === undefined ? {} : { lanes: settings.visionLanes }),
      ...(settings.visionPreprocessThread === undefined
        ? {}
        : { preprocessThread: settings.visionPreprocessThread }),
    }),
  };
}

export function providersOf(model: ModelRunner): readonly string[] {
  return model.kind === 'llm' ? model.runner.info.providers : model.runner.providers;
}
