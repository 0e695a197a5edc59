import { describe, expect, it } from '@jest/globals';
import { href, pageForTask, parseRoute } from './router.js';

describe('hash routes', () => {
  it('reads the page and the model, defaulting to the models page', () => {
    expect(parseRoute('')).toEqual({ page: 'models' });
    expect(parseRoute('#/workers')).toEqual({ page: 'workers' });
    expect(parseRoute('#/chat/tiny-llama%3Aq4')).toEqual({ page: 'chat', model: 'tiny-llama:q4' });
    expect(parseRoute(href('detect', 'org/yolo v8'))).toEqual({ page: 'detect', model: 'org/yolo v8' });
    // Names keep their tag and slashes readable in the address.
    expect(href('chat', 'hf.co/org/repo:q4')).toBe('#/chat/hf.co/org/repo:q4');
    expect(parseRoute(href('chat', 'hf.co/org/repo:q4'))).toEqual({
      page: 'chat',
      model: 'hf.co/org/repo:q4',
    });
  });

  it('opens each task on its own page', () => {
    expect(
      [
        'text-generation',
        'embedding',
        'object-detection',
        'image-classification',
        'instance-segmentation',
        'pose-estimation',
        'background-removal',
        'other',
      ].map(pageForTask),
    ).toEqual(['chat', 'embed', 'detect', 'classify', 'segment', 'pose', 'remove-background', 'models']);
  });
});
