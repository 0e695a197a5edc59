// One request to a server's HTTP API, timed the way serving benchmarks time it (vLLM's
// benchmark_serving): time to first token, the gaps between streamed chunks, end to end.
import { errorMessage, lines, networkError } from '../client/http-text.js';

export type BenchApi = 'ollama' | 'openai';
export type BenchTask = 'generate' | 'chat' | 'detect' | 'classify';

export const isVision = (task: BenchTask) => task === 'detect' || task === 'classify';

export interface Target {
  host: string;
  apiKey: string | undefined;
  api: BenchApi;
  task: BenchTask;
  model: string;
  maxTokens: number;
  /** The image vision tasks send (base64 in a JSON body). */
  image?: Buffer;
  timeoutMs: number;
}

export interface RequestSample {
  ok: boolean;
  /** The HTTP status; 0 when no response came. */
  status: number;
  error?: string;
  /** ms from the start of the level to the request being sent. */
  sentAtMs: number;
  /** ms from sending to the first streamed token (text tasks). */
  ttftMs?: number;
  /** ms from sending to the end of the response. */
  e2eMs: number;
  /** ms between successive streamed chunks that carried text. */
  itlMs: number[];
  promptTokens: number;
  outputTokens: number;
  /** Vision: where the server says the image's time went (its `timings`), in ms. */
  stagesMs?: VisionStages;
}

/** The stages of a vision answer's own timings: decoding, preprocessing, session.run, postprocessing. */
export const VISION_STAGES = ['decode', 'preprocess', 'inference', 'postprocess'] as const;
export type VisionStages = Record<(typeof VISION_STAGES)[number], number>;

/** The stages of a vision answer's `timings` (nanoseconds), in ms; undefined if one is missing. */
function visionStages(answer: Json): VisionStages | undefined {
  const timings = answer.timings as Json | undefined;
  const stages: Partial<VisionStages> = {};
  for (const stage of VISION_STAGES) {
    const ns = timings?.[`${stage}_ns`];
    if (typeof ns !== 'number') return undefined;
    stages[stage] = ns / 1e6;
  }
  return stages as VisionStages;
}

export type Sender = (prompt: string, sentAtMs: number) => Promise<RequestSample>;

type Json = Record<string, unknown>;

function routeOf(target: Target): string {
  if (isVision(target.task)) return `/v1/vision/${target.task}`;
  if (target.api === 'ollama') return target.task === 'chat' ? '/api/chat' : '/api/generate';
  return target.task === 'chat' ? '/v1/chat/completions' : '/v1/completions';
}

function bodyOf(target: Target, prompt: string): Json {
  const { model, maxTokens } = target;
  switch (target.task) {
    case 'detect':
    case 'classify':
      return { model, image: target.image?.toString('base64') ?? '' };
    case 'generate':
      return target.api === 'ollama'
        ? { model, prompt, raw: true, stream: true, options: { num_predict: maxTokens, temperature: 0 } }
        : {
            model,
            prompt,
            max_tokens: maxTokens,
            temperature: 0,
            stream: true,
            stream_options: { include_usage: true },
          };
    case 'chat': {
      const messages = [{ role: 'user', content: prompt }];
      return target.api === 'ollama'
        ? { model, messages, stream: true, options: { num_predict: maxTokens, temperature: 0 } }
        : {
            model,
            messages,
            max_tokens: maxTokens,
            temperature: 0,
            stream: true,
            stream_options: { include_usage: true },
          };
    }
  }
}

/** The text and token counts one streamed line carries, in the API's shape. */
interface StreamEvent {
  text: string;
  promptTokens?: number;
  outputTokens?: number;
  error?: string;
}

function parseEvent(api: BenchApi, task: BenchTask, line: string): StreamEvent | undefined {
  if (api === 'ollama') {
    if (line.trim() === '') return undefined;
    const event = JSON.parse(line) as Json;
    if (typeof event.error === 'string') return { text: '', error: event.error };
    const text =
      task === 'chat'
        ? ((event.message as Json | undefined)?.content as string | undefined)
        : (event.response as string | undefined);
    return {
      text: text ?? '',
      ...(typeof event.prompt_eval_count === 'number' ? { promptTokens: event.prompt_eval_count } : {}),
      ...(typeof event.eval_count === 'number' ? { outputTokens: event.eval_count } : {}),
    };
  }
  // Server-sent events: only `data:` lines matter; `[DONE]` ends the stream.
  if (!line.startsWith('data:')) return undefined;
  const data = line.slice(5).trim();
  if (data === '[DONE]') return undefined;
  const event = JSON.parse(data) as Json;
  if (event.error) return { text: '', error: errorMessage(data) };
  const choice = (event.choices as Json[] | undefined)?.[0];
  const text =
    task === 'chat'
      ? ((choice?.delta as Json | undefined)?.content as string | undefined)
      : (choice?.text as string | undefined);
  const usage = event.usage as Json | undefined | null;
  return {
    text: text ?? '',
    ...(typeof usage?.prompt_tokens === 'number' ? { promptTokens: usage.prompt_tokens } : {}),
    ...(typeof usage?.completion_tokens === 'number' ? { outputTokens: usage.completion_tokens } : {}),
  };
}

/** A function that sends one request to `target` and times it; it never throws. */
export function requestSender(target: Target, fetchImpl: typeof fetch = fetch): Sender {
  const url = `${target.host}${routeOf(target)}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  const vision = isVision(target.task);

  return async (prompt, sentAtMs) => {
    const sample: RequestSample = {
      ok: false,
      status: 0,
      sentAtMs,
      e2eMs: 0,
      itlMs: [],
      promptTokens: 0,
      outputTokens: 0,
    };
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    try {
      const response = await fetchImpl(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(bodyOf(target, prompt)),
        signal: AbortSignal.timeout(target.timeoutMs),
      });
      sample.status = response.status;
      if (!response.ok || !response.body) {
        sample.error = `${response.status}: ${errorMessage(await response.text())}`;
        sample.e2eMs = elapsed();
        return sample;
      }
      if (vision) {
        const answer = (await response.json()) as Json;
        sample.e2eMs = elapsed();
        const stages = visionStages(answer);
        if (stages) sample.stagesMs = stages;
        sample.ok = true;
        return sample;
      }
      let chunks = 0;
      let last = 0;
      for await (const line of lines(response.body)) {
        const event = parseEvent(target.api, target.task, line);
        if (!event) continue;
        if (event.error) {
          sample.error = `stream: ${event.error}`;
          sample.e2eMs = elapsed();
          return sample;
        }
        if (event.text.length > 0) {
          const now = elapsed();
          if (chunks === 0) sample.ttftMs = now;
          else sample.itlMs.push(now - last);
          last = now;
          chunks += 1;
        }
        if (event.promptTokens !== undefined) sample.promptTokens = event.promptTokens;
        if (event.outputTokens !== undefined) sample.outputTokens = event.outputTokens;
      }
      // A server that reports no usage: one streamed chunk per token, as all of them send it.
      if (sample.outputTokens === 0) sample.outputTokens = chunks;
      sample.e2eMs = elapsed();
      sample.ok = true;
      return sample;
    } catch (error) {
      sample.e2eMs = elapsed();
      sample.error =
        error instanceof SyntaxError ? `bad stream: ${error.message}` : networkError(error, target.host);
      return sample;
    }
  };
}
