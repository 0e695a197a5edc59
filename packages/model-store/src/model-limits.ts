import { ErrorCode, VmmError } from '@vmm/errors';

/**
 * Bounds on the text a model carries (its Modelfile's SYSTEM, TEMPLATE and LICENSE, its labels):
 * each travels whole in gRPC messages (Create, Show) and JSON answers (/api/show), and a model
 * lives until it is deleted, so an unbounded field would break every later answer that carries
 * it. Sized far above real models (Llama 3.1's chat template is 4 KB, the longest licence texts
 * about 100 KB, ImageNet-21k's labels 300 KB) and together far below a 16 MiB gRPC message.
 */
export const modelTextLimits = {
  /** UTF-8 bytes of SYSTEM. */
  systemBytes: 1024 * 1024,
  /** UTF-8 bytes of the chat template. */
  templateBytes: 1024 * 1024,
  /** UTF-8 bytes of every LICENSE text together, and how many there may be. */
  licenseBytes: 1024 * 1024,
  licenses: 64,
  /** Class labels: how many, and their UTF-8 bytes together. */
  labels: 100_000,
  labelsBytes: 2 * 1024 * 1024,
  /** A JSON file of a model folder (config.json, tokenizer_config.json, vmm.json, …). */
  configFileBytes: 16 * 1024 * 1024,
  /** tokenizer.json, which real vocabularies make large (Gemma 3's is 33 MB). */
  tokenizerFileBytes: 256 * 1024 * 1024,
} as const;

const MiB = (bytes: number) => `${bytes / (1024 * 1024)} MiB`;

/** Refuses (400, naming the field) model text over `modelTextLimits`. */
export function checkModelText(text: {
  system?: string | undefined;
  template?: string | undefined;
  license?: readonly string[] | undefined;
}): void {
  const over = (field: string, what: string, limit: number) =>
    new VmmError(ErrorCode.InvalidArgument, `${what} is larger than ${MiB(limit)}`, { field });
  if (text.system !== undefined && Buffer.byteLength(text.system) > modelTextLimits.systemBytes)
    throw over('system', 'system (SYSTEM)', modelTextLimits.systemBytes);
  if (text.template !== undefined && Buffer.byteLength(text.template) > modelTextLimits.templateBytes)
    throw over('template', 'template (TEMPLATE)', modelTextLimits.templateBytes);
  if (text.license !== undefined) {
    if (text.license.length > modelTextLimits.licenses)
      throw new VmmError(ErrorCode.InvalidArgument, `at most ${modelTextLimits.licenses} licenses`, {
        field: 'license',
      });
    let bytes = 0;
    for (const license of text.license) bytes += Buffer.byteLength(license);
    if (bytes > modelTextLimits.licenseBytes)
      throw over('license', 'license (LICENSE, all together)', modelTextLimits.licenseBytes);
  }
}

const labelsError = (model: string) =>
  new VmmError(
    ErrorCode.FailedPrecondition,
    `${model}: the labels are too many (at most ${modelTextLimits.labels} labels, ${MiB(modelTextLimits.labelsBytes)} together)`,
  );

/** Refuses (FAILED_PRECONDITION, naming the model) more classes than labels may be given. */
export function checkLabelCount(count: number, model: string): void {
  if (count > modelTextLimits.labels) throw labelsError(model);
}

/** Refuses (FAILED_PRECONDITION, naming the model) a list of labels over the bounds. */
export function checkLabels(labels: readonly string[], model: string): void {
  checkLabelCount(labels.length, model);
  let bytes = 0;
  for (const label of labels) bytes += Buffer.byteLength(label);
  if (bytes > modelTextLimits.labelsBytes) throw labelsError(model);
}

/** Refuses a labels file too large to hold labels within the bounds, before it is read. */
export function checkLabelsFileSize(bytes: number, model: string): void {
  // Each label may be followed by a line break (\r\n at most).
  if (bytes > modelTextLimits.labelsBytes + 2 * modelTextLimits.labels) throw labelsError(model);
}
