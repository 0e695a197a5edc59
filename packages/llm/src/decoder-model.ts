import { ErrorCode, VmmError } from '@vmm/errors';
import type { ModelSession, TensorType } from '@vmm/runtime';
import type { ModelConfig } from './model-config.js';

/** How a decoder export wants to be fed, read from its session and config — nothing assumed. */
export interface DecoderLayout {
  layers: number;
  kvHeads: number;
  headDim: number;
  kvType: TensorType;
  positionIds: boolean;
  /** Qwen2-VL's multimodal rotary positions: position_ids [3, B, S]. */
  mrope: boolean;
  /** Legacy merged decoders select their cache branch with a boolean input. */
  useCacheBranch: boolean;
  logitsType: TensorType;
  /**
   * A vision-language decoder takes `inputs_embeds` [B, S, hidden] instead of token ids: a
   * separate embedding graph makes them, and image features take image tokens' places.
   */
  embeds?: { hiddenSize: number; type: TensorType };
}

const PAST = /^past_key_values\.(\d+)\.key$/;

export function readDecoderLayout(session: ModelSession, config: ModelConfig): DecoderLayout {
  const names = new Set(session.inputs.map((input) => input.name));
  const embedsInput = session.inputs.find((input) => input.name === 'inputs_embeds');
  const hiddenSize = embedsInput?.shape[2];
  if (embedsInput && !names.has('input_ids') && typeof hiddenSize !== 'number') {
    throw new VmmError(ErrorCode.FailedPrecondition, 'the decoder leaves the width of inputs_embeds unnamed');
  }
  for (const required of [embedsInput ? 'inputs_embeds' : 'input_ids', 'attention_mask']) {
    if (!names.has(required)) {
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        `the decoder has no ${required} input; is it a text-generation export?`,
      );
    }
  }
  const pasts = session.inputs.filter((input) => PAST.test(input.name));
  if (pasts.length === 0) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      'the decoder has no past_key_values inputs: export it with a KV cache (optimum-cli --task text-generation-with-past)',
    );
  }
  const first = pasts.find((input) => input.name === 'past_key_values.0.key') ?? pasts[0];
  const [, kvHeadsDim, , headDimDim] = first?.shape ?? [];
  const kvHeads = typeof kvHeadsDim === 'number' ? kvHeadsDim : config.numKvHeads;
  const headDim = typeof headDimDim === 'number' ? headDimDim : config.headDim;
  if (kvHeads === undefined || headDim === undefined) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      'cannot tell the KV cache shape from the model or config.json',
    );
  }
  const logits = session.outputs.find((output) => output.name === 'logits');
  if (!logits) throw new VmmError(ErrorCode.FailedPrecondition, 'the decoder has no logits output');
  return {
    layers: pasts.length,
    kvHeads,
    headDim,
    kvType: (first?.type ?? 'float32') as TensorType,
    positionIds: names.has('position_ids'),
    mrope: session.inputs.find((input) => input.name === 'position_ids')?.shape.length === 3,
    useCacheBranch: names.has('use_cache_branch'),
    logitsType: logits.type as TensorType,
    ...(embedsInput && !names.has('input_ids')
      ? { embeds: { hiddenSize: hiddenSize as number, type: embedsInput.type as TensorType } }
      : {}),
  };
}
