import type { Prng } from '../prng.js';
import { detectorColours } from './colours.js';
import type { Square } from './square-image.js';

/** A square the scene holds, with the name of the colour it was drawn in. */
export interface SceneSquare extends Square {
  label: string;
}

export interface RandomScene {
  width: number;
  height: number;
  background: [number, number, number];
  squares: SceneSquare[];
}

export interface RandomSceneOptions {
  /** Image sides are drawn from [minSide, maxSide] on a log scale; default 64 to 1280. */
  minSide?: number;
  maxSide?: number;
  /** Square sides, pixels of the image; default 24 to 400 (and never more than the image). */
  minSquare?: number;
  maxSquare?: number;
  /** Most squares in one scene; default 5. */
  maxSquares?: number;
}

/**
 * How far apart two squares of the same colour must be for the demo detector to tell them
 * apart: it finds a square as the extent of its colour in a window around it, so a second
 * square of that colour inside the window merges with the first. Squares of other colours
 * may come as close as `OTHER_COLOUR_GAP`.
 */
export function sameColourGap(a: number, b: number): number {
  return Math.max(a, b) + 16;
}
export const OTHER_COLOUR_GAP = 2;

/**
 * A random scene for the demo detector: any aspect ratio, squares of every size anywhere in the
 * image, colours off the pure ones (each channel up to 45 levels away), flat dark or grey
 * backgrounds. Squares keep the gaps above; a square that finds no room after some tries is
 * left out, so a scene always has at least one.
 */
export function randomScene(prng: Prng, options: RandomSceneOptions = {}): RandomScene {
  const minSide = options.minSide ?? 64;
  const maxSide = options.maxSide ?? 1280;
  const logUniform = (low: number, high: number) =>
    Math.round(Math.exp(Math.log(low) + prng.next() * (Math.log(high) - Math.log(low))));
  const int = (low: number, high: number) => low + Math.floor(prng.next() * (high - low + 1));
  const width = logUniform(minSide, maxSide);
  const height = logUniform(minSide, maxSide);
  const grey = int(0, 85);
  const background: [number, number, number] = [grey + int(0, 25), grey + int(0, 25), grey + int(0, 25)];
  const minSquare = options.minSquare ?? 24;
  const maxSquare = Math.min(options.maxSquare ?? 400, width, height);
  const wanted = int(1, options.maxSquares ?? 5);
  const squares: SceneSquare[] = [];
  for (let tries = 0; squares.length < wanted && tries < wanted * 20; tries += 1) {
    if (maxSquare < minSquare) break;
    const size = logUniform(minSquare, maxSquare);
    const colour = detectorColours[int(0, detectorColours.length - 1)]!;
    const candidate: SceneSquare = {
      label: colour.name,
      size,
      x: int(0, width - size),
      y: int(0, height - size),
      rgb: colour.rgb.map((channel) => (channel === 255 ? 255 - int(0, 45) : int(0, 45))) as [
        number,
        number,
        number,
      ],
    };
    // Half the time a square goes right beside one already there, as close as the gaps allow:
    // the hard case, which uniform placement would hardly ever try.
    const neighbour =
      squares.length > 0 && prng.next() < 0.5 ? squares[int(0, squares.length - 1)] : undefined;
    if (neighbour) {
      const gap =
        neighbour.label === candidate.label ? sameColourGap(neighbour.size, size) : OTHER_COLOUR_GAP;
      const side = int(0, 3);
      const across = (start: number) => start + int(-size + 1, neighbour.size - 1);
      if (side < 2) {
        candidate.x = side === 0 ? neighbour.x + neighbour.size + gap : neighbour.x - gap - size;
        candidate.y = across(neighbour.y);
      } else {
        candidate.y = side === 2 ? neighbour.y + neighbour.size + gap : neighbour.y - gap - size;
        candidate.x = across(neighbour.x);
      }
      if (candidate.x < 0 || candidate.y < 0 || candidate.x + size > width || candidate.y + size > height)
        continue;
    }
    const clear = squares.every((other) => {
      const gap =
        other.label === candidate.label ? sameColourGap(other.size, candidate.size) : OTHER_COLOUR_GAP;
      return (
        candidate.x >= other.x + other.size + gap ||
        other.x >= candidate.x + candidate.size + gap ||
        candidate.y >= other.y + other.size + gap ||
        other.y >= candidate.y + candidate.size + gap
      );
    });
    if (clear) squares.push(candidate);
  }
  return { width, height, background, squares };
}
