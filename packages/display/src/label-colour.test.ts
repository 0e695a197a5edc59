import { expect, it } from '@jest/globals';
import { labelColour } from './label-colour.js';

it('draws colour names in their colour and any other label in a stable hue', () => {
  expect(labelColour('red')).toBe('#ff3b30');
  expect(labelColour('person')).toMatch(/^hsl\(\d{1,3} 90% 55%\)$/);
  expect(labelColour('person')).toBe(labelColour('person'));
  expect(labelColour('person')).not.toBe(labelColour('bicycle'));
});
