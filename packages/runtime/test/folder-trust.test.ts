// What a model folder names stays inside it: external data locations inside the graph, links.
import { afterAll, describe, expect, it } from '@jest/globals';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@vmm/errors';
import { DEMO_CLASSIFIER, DEMO_DETECTOR, DETECTOR_FILE, writeDemoModels } from '@vmm/model-fixtures';
import { onnx } from '@vmm/proto';
import { inspectModelDir, onnxExternalLocations, readFolderJson } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-folder-trust-'));
const models = join(root, 'models');
writeDemoModels(models);
writeFileSync(join(root, 'secret.bin'), 'SECRETSECRETSECR');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A graph whose one initializer (inline, in a subgraph, or sparse) names `location` as external data. */
function externalModel(location: string, where: 'initializer' | 'subgraph' | 'constant'): Uint8Array {
  const tensor = {
    name: 'w',
    dims: [16],
    dataType: onnx.TensorProto_DataType.UINT8,
    dataLocation: onnx.TensorProto_DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'length', value: '16' },
    ],
  };
  const output = { name: 'y', type: { tensorType: { elemType: 2, shape: { dim: [{ dimValue: 16 }] } } } };
  const inline = {
    name: 'pad',
    dims: [4096],
    dataType: onnx.TensorProto_DataType.UINT8,
    rawData: Buffer.alloc(4096),
  };
  const graph =
    where === 'initializer'
      ? {
          name: 'g',
          node: [{ opType: 'Identity', input: ['w'], output: ['y'] }],
          initializer: [inline, tensor],
          output: [output],
        }
      : where === 'constant'
        ? {
            name: 'g',
            node: [{ opType: 'Constant', output: ['y'], attribute: [{ name: 'value', type: 4, t: tensor }] }],
            initializer: [inline],
            output: [output],
          }
        : {
            name: 'g',
            node: [
              {
                opType: 'If',
                input: ['c'],
                output: ['y'],
                attribute: [
                  {
                    name: 'then_branch',
                    type: 5,
                    g: {
                      name: 't',
                      node: [{ opType: 'Identity', input: ['w'], output: ['y'] }],
                      initializer: [tensor],
                      output: [output],
                    },
                  },
                ],
              },
            ],
            output: [output],
          };
  return onnx.ModelProto.encode(
    onnx.ModelProto.fromPartial({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph }),
  ).finish();
}

describe('onnxExternalLocations', () => {
  it.each(['initializer', 'subgraph', 'constant'] as const)(
    'finds the location of a tensor in a(n) %s',
    (where) => {
      const path = join(root, `ext-${where}.onnx`);
      writeFileSync(path, externalModel('weights/../../secret.bin', where));
      expect(onnxExternalLocations(path)).toEqual(['weights/../../secret.bin']);
    },
  );

  it('finds none in a model with inline weights, and refuses a truncated file', () => {
    const detector = join(models, DEMO_DETECTOR, DETECTOR_FILE);
    expect(onnxExternalLocations(detector)).toEqual([]);
    const bytes = readFileSync(detector);
    writeFileSync(join(root, 'cut.onnx'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    expect(() => onnxExternalLocations(join(root, 'cut.onnx'))).toThrow(/not a valid ONNX file/);
  });
});

describe('inspectModelDir refuses a folder that reaches outside itself', () => {
  /** A copy of the demo classifier whose graph is replaced by `model`. */
  function folder(name: string, model?: Uint8Array): string {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    for (const file of ['model.onnx', 'labels.txt', 'vmm.json'])
      copyFileSync(join(models, DEMO_CLASSIFIER, file), join(dir, file));
    if (model) writeFileSync(join(dir, 'model.onnx'), model);
    return dir;
  }

  it.each([
    ['../secret.bin', /external data "..\/secret.bin" leads out of the folder/],
    ['sub/../../secret.bin', /leads out of the folder/],
    [join(root, 'secret.bin'), /is not a relative path/],
    ['..\\secret.bin', /is not a relative path/],
  ])('external data at %j', (location, why) => {
    const dir = folder(
      `ext-${Buffer.from(location).toString('hex')}`,
      externalModel(location, 'initializer'),
    );
    expect(() => inspectModelDir('x', dir)).toThrow(
      expect.objectContaining({ code: ErrorCode.FailedPrecondition, message: expect.stringMatching(why) }),
    );
  });

  it('external data through a link out of the folder', () => {
    const dir = folder('ext-link', externalModel('weights.bin', 'subgraph'));
    symlinkSync(join(root, 'secret.bin'), join(dir, 'weights.bin'));
    expect(() => inspectModelDir('x', dir)).toThrow(/link out of the folder/);
  });

  it.each(['tokenizer.json', 'genai_config.json', 'config.json', 'sub/labels.txt'])(
    'a link named %s pointing out',
    (name) => {
      const dir = folder(`link-${name.replace('/', '-')}`);
      mkdirSync(join(dir, 'sub'), { recursive: true });
      symlinkSync(join(root, 'secret.bin'), join(dir, name));
      expect(() => inspectModelDir('x', dir)).toThrow(
        /a link in the model folder .* is a link out of the folder/,
      );
    },
  );

  it('links within the folder, and dangling links, are fine; the error never names a server path', () => {
    const dir = folder('inner-link');
    symlinkSync(join(dir, 'labels.txt'), join(dir, 'names.txt'));
    symlinkSync(join(dir, 'gone.txt'), join(dir, 'dangling.txt'));
    expect(inspectModelDir('x', dir).task).toBe('image-classification');
    const bad = folder('bad-message', externalModel('../secret.bin', 'initializer'));
    try {
      inspectModelDir('x', bad);
      throw new Error('not refused');
    } catch (error) {
      expect((error as Error).message).not.toContain(root);
    }
  });
});

describe('readFolderJson', () => {
  it('reads only inside the folder, whatever names the file (modules.json paths, say)', () => {
    const dir = join(root, 'json');
    mkdirSync(join(dir, '1_Pooling'), { recursive: true });
    writeFileSync(join(dir, '1_Pooling', 'config.json'), '{"pooling_mode_cls_token": true}');
    writeFileSync(join(root, 'outside.json'), '{"secret": true}');
    expect(readFolderJson(dir, '1_Pooling/config.json')).toEqual({ pooling_mode_cls_token: true });
    expect(readFolderJson(dir, 'absent.json')).toBeUndefined();
    for (const file of ['../outside.json', join(root, 'outside.json'), '1_Pooling/../../outside.json'])
      expect(() => readFolderJson(dir, file)).toThrow(
        expect.objectContaining({ code: ErrorCode.FailedPrecondition }),
      );
  });
});
