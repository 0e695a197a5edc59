import { nsSince, tensorArray } from '@vmm/runtime';
import { centreCropInto, letterboxInto, type PlaneBuffer, probeImage, stretchInto } from './image-input.js';
import type { PreprocessPayload, Preprocessed } from './vision-thread-protocol.js';

/** Checks, decodes and letterboxes (or centre-crops, or stretches) one image into new planes of the input. */
export async function preparePlanes(payload: PreprocessPayload): Promise<Preprocessed> {
  const { bytes, maxPixels, plane, width, height } = payload;
  const began = performance.now();
  const info = await probeImage(bytes, maxPixels);
  const decodeNs = nsSince(began);
  const preprocessStart = performance.now();
  const planes = tensorArray(plane.type, 3 * width * height) as PlaneBuffer;
  const answer: Preprocessed = { info, planes, decodeNs, preprocessNs: 0 };
  if (plane.kind === 'letterbox') {
    const target = { width, height, padValue: plane.padValue };
    answer.geometry = await letterboxInto(bytes, info, target, planes, maxPixels);
  } else if (plane.kind === 'stretch') {
    await stretchInto(bytes, { width, height, mean: plane.mean, std: plane.std }, planes, maxPixels);
  } else {
    await centreCropInto(bytes, info, plane.classifier, planes, maxPixels);
  }
  answer.preprocessNs = nsSince(preprocessStart);
  return answer;
}
