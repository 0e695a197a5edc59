import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { VmmError } from '@vmm/errors';
import { JsonImageScanner } from './json-image-scanner.js';

/** Scans `text` cut at `cuts`; what the sink saw and the members parsed. */
function scan(text: string, cuts: number[] = []) {
  const pieces: Buffer[] = [];
  const events: string[] = [];
  let before: Record<string, unknown> | undefined;
  const scanner: JsonImageScanner = new JsonImageScanner({
    start: () => {
      events.push('start');
      before = scanner.fieldsSoFar();
    },
    bytes: (piece) => pieces.push(piece),
    end: () => events.push('end'),
  });
  const bytes = Buffer.from(text, 'utf8');
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]) {
    scanner.push(bytes.subarray(at, cut));
    at = cut;
  }
  const fields = scanner.end();
  return { fields, image: Buffer.concat(pieces), events, before, hadImage: scanner.hadImage };
}

/** A seeded generator, so that a failing case can be run again. */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const failure = (text: string) => {
  try {
    scan(text);
  } catch (error) {
    return error as VmmError;
  }
  throw new Error(`${text} was read without an error`);
};

describe('JsonImageScanner', () => {
  it('decodes the image and parses the other members as JSON.parse does, however the body is cut', () => {
    const next = random(7);
    for (let round = 0; round < 200; round += 1) {
      const image = randomBytes(Math.floor(next() * 200_000));
      const members: [string, unknown][] = [
        ['model', `det-${round}`],
        ['confidence_threshold', next()],
        ['class_ids', [1, 2, { x: ['a', '"}]'] }]],
        ['note', 'quote " brace } bracket ] backslash \\ é 🙂'],
        ['keep_alive', null],
        ['flag', round % 2 === 0],
      ];
      const at = Math.floor(next() * (members.length + 1));
      const base64 = image.toString('base64');
      const dataUrl = round % 3 === 0 ? `data:image/png;base64,${base64}` : base64;
      // Some encoders escape "/" and wrap base64 in lines.
      const imageText = JSON.stringify(
        round % 4 === 1 ? dataUrl.replace(/(.{76})/g, '$1\n') : dataUrl,
      ).replace(round % 5 === 2 ? /\//g : /^$/, '\\/');
      const parts = members.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`);
      parts.splice(at, 0, `"image" : ${imageText}`);
      const text = `  {${parts.join(round % 2 === 0 ? ',' : ' ,\n ')}}  `;
      const cuts = Array.from({ length: Math.floor(next() * 12) }, () => Math.floor(next() * text.length));
      const read = scan(text, cuts);
      expect(read.image.equals(image)).toBe(true);
      expect(read.events).toEqual(['start', 'end']);
      const whole = JSON.parse(text) as Record<string, unknown>;
      delete whole.image;
      expect(read.fields).toEqual(whole);
      // What was read before the image is what the body holds before it.
      expect(Object.keys(read.before ?? {})).toEqual(members.slice(0, at).map(([key]) => key));
    }
  });

  it('keeps an image that is not a string as a member, for the schema to refuse', () => {
    const read = scan('{"model":"m","image":{"url":"x"}}');
    expect(read.hadImage).toBe(false);
    expect(read.fields).toEqual({ model: 'm', image: { url: 'x' } });
    expect(scan('{"model":"m"}').fields).toEqual({ model: 'm' });
    expect(scan('{}').fields).toEqual({});
  });

  it('reads a \\u escape of a base64 character', () => {
    expect(scan('{"image":"QUJD\\u0052"}').image.toString()).toBe(Buffer.from('QUJDR', 'base64').toString());
  });

  it.each([
    ['[1, 2]', 'body', 'JSON object'],
    ['', 'body', 'JSON object'],
    ['{"model": "m"', 'body', 'not valid JSON'],
    ['{"model" "m"}', 'body', 'not valid JSON'],
    ['{"model": "m",}', 'body', 'not valid JSON'],
    ['{"model": tru}', 'body', 'not valid JSON'],
    ['{"model": "m"} x', 'body', 'not valid JSON'],
    ['{"a": [1, 2}', 'body', 'not valid JSON'],
    ['{"image": "QUJD", "image": "QUJD"}', 'body', 'twice'],
    ['{"image": ""}', 'image', 'base64'],
    ['{"image": "QU*D"}', 'image', 'base64'],
    ['{"image": "QUJD=A"}', 'image', 'base64'],
    ['{"image": "QUJD==="}', 'image', 'base64'],
    ['{"image": "data:image/png;base64"}', 'image', 'base64'],
    ['{"image": "data:image png;base64,QUJD"}', 'image', 'base64'],
    ['{"image": "QUJD\\"x"}', 'image', 'base64'],
    ['{"image": "é"}', 'image', 'base64'],
  ])('refuses %j naming %s', (text, field, message) => {
    const error = failure(text);
    expect(error).toBeInstanceOf(VmmError);
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });
});
