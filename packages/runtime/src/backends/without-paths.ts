/**
 * A runtime's error message with every absolute path cut to its last part ("Load model from
 * /srv/models/.vmm/trees/ab12/model.onnx failed" → "Load model from model.onnx failed"): such
 * messages reach clients, and where the server keeps its files is nobody's business.
 */
export function withoutPaths(message: string): string {
  return message.replace(/(^|[\s'"(=[])\/(?:[^\s'"()[\]:,/]+\/)*([^\s'"()[\]:,/]*)/g, '$1$2');
}
