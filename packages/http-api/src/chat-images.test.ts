import { describe, expect, it } from '@jest/globals';
import { chatImageBytes, ollamaMessageImages, textAndImages } from './chat-images.js';

const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);

describe('chat images', () => {
  it('reads bare base64 and data URLs alike', () => {
    expect(chatImageBytes(png.toString('base64'), 'f')).toEqual(png);
    expect(chatImageBytes(`data:image/png;base64,${png.toString('base64')}`, 'f')).toEqual(png);
  });

  it.each([
    ['', /f is not a base64 picture/],
    ['https://example.com/cat.png', /remote image URLs are not fetched here/],
  ])('refuses %j naming the field', (text, message) => {
    expect(() => chatImageBytes(text, 'f')).toThrow(message);
  });

  it("places Ollama's images before the text, and refuses URLs there", () => {
    expect(ollamaMessageImages([png.toString('base64')], 'messages.0.images')).toEqual([
      { data: png, at: 0 },
    ]);
    expect(() => ollamaMessageImages(['http://x/a.png'], 'messages.0.images')).toThrow(
      /messages\.0\.images\.0: Ollama's images are base64, not URLs/,
    );
  });

  it('puts each picture where it sat between the text parts', () => {
    const url = `data:image/png;base64,${png.toString('base64')}`;
    const { content, images } = textAndImages(
      [
        { type: 'text', text: 'Compare ' },
        { type: 'image', url },
        { type: 'text', text: ' with ' },
        { type: 'image', url },
      ],
      'messages.0.content',
    );
    expect(content).toBe('Compare  with ');
    expect(images.map((image) => image.at)).toEqual([8, 14]);
  });
});
