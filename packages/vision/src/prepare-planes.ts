import { centreCropInto, letterboxInto, type PlaneBuffer, probeImage } from './image-input.js';
import type { PreprocessPayload, Preprocessed } from './vision-thread-protocol.js';

const nsSince = (start: number) => Math.round((performance.now() - start) * 1e6);

/** Checks, decodes and letterboxes (or centre-crops) one image into new planes of the input. */
export async function preparePlanes(payload: PreprocessPayload): Promise<Preprocessed> {
  const { bytes, maxPixels, plane, width, height } = payload;
  const began = performance.now();
  const info = await probeImage(bytes, maxPixels);
  const decodeNs = nsSince(began);
  const preprocessStart = performance.now();
  const size = 3 * width * height;
  const planes: PlaneBuffer = plane.type === 'float16' ? new Uint16Array(size) : new Float32Array(size);
  const answer: Preprocessed = { info, planes, decodeNs, preprocessNs: 0 };
  if (plane.kind === 'letterbox') {
    const target = { width, height, padValue: plane.padValue };
    answer.geometry = await letterboxInto(bytes, info, target, planes, 0, maxPixels);
  } else {
    await centreCropInto(bytes, info, plane.classifier, planes, 0, maxPixels);
  }
  answer.preprocessNs = nsSince(preprocessStart);
  return answer;
}
