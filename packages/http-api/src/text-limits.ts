import { ErrorCode, VmmError } from '@vmm/errors';
import type { TextJob } from './text-job.js';

// Limits on the text a request may carry, checked before anything is sent to a worker: a model
// tokenizes a prompt in full on its own thread, so an unbounded prompt (or conversation) would
// hold the model, and every request queued behind it, for as long as that takes.

/** Messages in one conversation: rendering the chat template is linear in them. */
export const MAX_MESSAGES = 1000;
/** Stop sequences per request, and characters per stop sequence (as the worker enforces them). */
export const MAX_STOP_SEQUENCES = 16;
export const MAX_STOP_LENGTH = 256;
/** The default for VMM_MAX_PROMPT_BYTES: 1 MiB, about 250 k tokens of English text. */
export const DEFAULT_MAX_PROMPT_BYTES = 1024 * 1024;

/** UTF-8 bytes of every text the model will read: prompt, system prompt, messages. */
function promptBytes(job: TextJob): number {
  if (job.kind === 'chat') {
    const messages = job.request.messages.reduce(
      (sum, message) =>
        sum +
        Buffer.byteLength(message.content) +
        (message.toolCalls?.calls ?? []).reduce((n, call) => n + Buffer.byteLength(call.argumentsJson), 0),
      0,
    );
    const tools = (job.request.toolUse?.tools ?? []).reduce(
      (sum, tool) => sum + Buffer.byteLength(tool.parametersJson) + Buffer.byteLength(tool.description),
      0,
    );
    return messages + tools + Buffer.byteLength(job.request.format?.jsonSchema ?? '');
  }
  return (
    Buffer.byteLength(job.request.prompt) +
    Buffer.byteLength(job.request.system ?? '') +
    Buffer.byteLength(job.request.format?.jsonSchema ?? '')
  );
}

/** Refuses (413) a job whose text is larger than `maxBytes`, before any worker sees it. */
export function checkPromptSize(job: TextJob, maxBytes: number): void {
  const bytes = promptBytes(job);
  if (bytes > maxBytes) {
    throw new VmmError(
      ErrorCode.PayloadTooLarge,
      `the prompt is ${bytes} bytes; the limit is ${maxBytes} bytes (VMM_MAX_PROMPT_BYTES)`,
      { field: job.kind === 'chat' ? 'messages' : 'prompt' },
    );
  }
}
