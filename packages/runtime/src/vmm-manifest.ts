import { z } from 'zod';

/**
 * `vmm.json`: what a model folder cannot say by itself — its task, which file to run, labels
 * and preprocessing. Optional for Optimum and Ultralytics exports, which describe themselves.
 */
export const vmmManifestSchema = z
  .object({
    task: z.enum([
      'text-generation',
      'object-detection',
      'image-classification',
      'instance-segmentation',
      'pose-estimation',
      'background-removal',
      'embedding',
    ]),
    /** The ONNX file, relative to the folder. */
    model: z.string().min(1).optional(),
    /** A labels file (one per line) relative to the folder, or the labels themselves. */
    labels: z.union([z.string().min(1), z.array(z.string())]).optional(),
    preprocess: z
      .object({
        resize: z.number().int().positive().optional(),
        crop: z.number().int().positive().optional(),
        width: z.number().int().positive().optional(),
        height: z.number().int().positive().optional(),
        mean: z.tuple([z.number(), z.number(), z.number()]).optional(),
        std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).optional(),
        layout: z.enum(['NCHW', 'NHWC']).optional(),
        channels: z.enum(['RGB', 'BGR']).optional(),
        scale: z.number().positive().optional(),
        letterbox: z.boolean().optional(),
        padValue: z.number().int().min(0).max(255).optional(),
      })
      .strict()
      .optional(),
    output: z
      .object({
        softmax: z.boolean().optional(),
        /** Background removal: whether the matte still needs a sigmoid (logits); absent = look at it. */
        sigmoid: z.boolean().optional(),
        /**
         * Background removal: the output that is the matte, where the first one-channel output is
         * not (a BiRefNet export whose last output is its final prediction).
         */
        name: z.string().min(1).max(256).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type VmmManifest = z.infer<typeof vmmManifestSchema>;
export type ModelTask = VmmManifest['task'];
/** Every task a model folder can have. */
export const MODEL_TASKS: readonly ModelTask[] = vmmManifestSchema.shape.task.options;
