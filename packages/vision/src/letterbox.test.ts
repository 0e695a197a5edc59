import { describe, expect, it } from '@jest/globals';
import { letterbox, toOriginal } from './letterbox.js';

describe('letterbox', () => {
  it.each([
    // source w×h → scale, resized w×h, padding left/top/right/bottom (Ultralytics' numbers)
    [640, 640, 1, 640, 640, 0, 0, 0, 0],
    [1280, 720, 0.5, 640, 360, 0, 140, 0, 140],
    [500, 900, 640 / 900, 356, 640, 142, 0, 142, 0],
    [1920, 1080, 1 / 3, 640, 360, 0, 140, 0, 140],
    [320, 240, 2, 640, 480, 0, 80, 0, 80],
    [641, 100, 640 / 641, 640, 100, 0, 270, 0, 270],
    [100, 101, 640 / 101, 634, 640, 3, 0, 3, 0],
  ])('%i×%i', (w, h, scale, width, height, left, top, right, bottom) => {
    const geometry = letterbox(w, h, 640, 640);
    expect(geometry.scale).toBeCloseTo(scale, 10);
    expect(geometry).toMatchObject({ width, height, left, top, right, bottom });
    expect(geometry.left + geometry.width + geometry.right).toBe(640);
    expect(geometry.top + geometry.height + geometry.bottom).toBe(640);
  });
});

describe('toOriginal', () => {
  const geometry = letterbox(1280, 720, 640, 640); // scale 0.5, top padding 140

  it.each([
    ['a box inside', { x1: 100, y1: 240, x2: 200, y2: 340 }, { x1: 200, y1: 200, x2: 400, y2: 400 }],
    [
      'a box crossing the left and top border',
      { x1: -20, y1: 100, x2: 50, y2: 200 },
      { x1: 0, y1: 0, x2: 100, y2: 120 },
    ],
    [
      'a box crossing the right and bottom border',
      { x1: 600, y1: 450, x2: 700, y2: 520 },
      { x1: 1200, y1: 620, x2: 1280, y2: 720 },
    ],
    ['a box in the padding only', { x1: 10, y1: 0, x2: 20, y2: 100 }, { x1: 20, y1: 0, x2: 40, y2: 0 }],
  ])('maps %s back to original pixels, clipped', (_name, box, expected) => {
    expect(toOriginal(box, geometry, 1280, 720)).toEqual(expected);
  });
});
