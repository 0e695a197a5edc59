import { ErrorCode, VmmError } from '@vmm/errors';
import { addParameter, type ModelParameters, parametersText } from './model-parameters.js';

/** What a Modelfile (or `/api/create`'s JSON fields) asks for. */
export interface ModelRecipe {
  from?: string;
  system?: string;
  /** A Jinja chat template, as `tokenizer_config.json` holds them (not Go template syntax). */
  template?: string;
  license?: string[];
  parameters?: ModelParameters;
}

function bad(line: number, message: string): VmmError {
  return new VmmError(ErrorCode.InvalidArgument, `Modelfile line ${line}: ${message}`, {
    field: 'modelfile',
  });
}

/**
 * Reads the Modelfile subset VMM serves: `FROM`, `PARAMETER`, `SYSTEM`, `TEMPLATE`, `LICENSE`
 * (instructions case-insensitive, `#` comments, values in `"..."` or `"""..."""` over several
 * lines). `ADAPTER` and `MESSAGE` are refused by name.
 */
export function parseModelfile(text: string): ModelRecipe {
  const recipe: ModelRecipe = {};
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const number = index + 1;
    const line = (lines[index] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(line);
    if (!match) throw bad(number, `cannot read "${line.slice(0, 80)}"`);
    const instruction = (match[1] ?? '').toUpperCase();
    let rest = (match[2] ?? '').trim();
    // """ opens a value that may span lines, up to the closing """.
    if (rest.startsWith('"""')) {
      // Only each new line is searched for the closing quotes, and the lines are joined once:
      // the parse stays linear in the Modelfile's size (it runs on the gateway's event loop).
      const parts = [rest.slice(3)];
      let last = parts[0] ?? '';
      while (!last.includes('"""')) {
        index += 1;
        if (index >= lines.length) throw bad(number, 'a """ value is not closed');
        last = lines[index] ?? '';
        parts.push(last);
      }
      const end = last.indexOf('"""');
      if (last.slice(end + 3).trim() !== '') throw bad(number, 'text after the closing """');
      parts[parts.length - 1] = last.slice(0, end);
      rest = JSON.stringify(parts.join('\n'));
    }
    const value = (): string => {
      if (rest === '') throw bad(number, `${instruction} needs a value`);
      if (rest.startsWith('"')) {
        try {
          return JSON.parse(rest) as string;
        } catch {
          throw bad(number, `the quoted value is not closed or has a bad escape`);
        }
      }
      return rest;
    };
    switch (instruction) {
      case 'FROM':
        recipe.from = value();
        break;
      case 'SYSTEM':
        recipe.system = value();
        break;
      case 'TEMPLATE':
        recipe.template = value();
        break;
      case 'LICENSE':
        // Pushed, not spread: a copy per line made 87 000 LICENSE lines take 73 s.
        (recipe.license ??= []).push(value());
        break;
      case 'PARAMETER': {
        const parameter = /^(\S+)\s+([\s\S]+)$/.exec(rest);
        if (!parameter) throw bad(number, 'PARAMETER needs a name and a value');
        const raw = (parameter[2] ?? '').trim();
        let parsed: string = raw;
        if (raw.startsWith('"')) {
          try {
            parsed = JSON.parse(raw) as string;
          } catch {
            throw bad(number, 'the quoted value is not closed or has a bad escape');
          }
        }
        recipe.parameters ??= {};
        try {
          addParameter(recipe.parameters, parameter[1] ?? '', parsed);
        } catch (error) {
          throw bad(number, (error as Error).message);
        }
        break;
      }
      case 'ADAPTER':
      case 'MESSAGE':
        throw bad(number, `${instruction} is not supported by VMM`);
      default:
        throw bad(number, `unknown instruction ${instruction}`);
    }
  }
  return recipe;
}

const quote = (text: string) => (text.includes('\n') || text.includes('"') ? `"""${text}"""` : `"${text}"`);

/** The Modelfile that makes `recipe` (`/api/show`'s `modelfile`). */
export function formatModelfile(recipe: ModelRecipe, header: string): string {
  const lines = [`# ${header}`, `FROM ${recipe.from ?? ''}`];
  if (recipe.template !== undefined) lines.push(`TEMPLATE ${quote(recipe.template)}`);
  if (recipe.system !== undefined) lines.push(`SYSTEM ${quote(recipe.system)}`);
  if (recipe.parameters) {
    for (const line of parametersText(recipe.parameters).split('\n'))
      if (line) lines.push(`PARAMETER ${line.replace(/\s+/, ' ')}`);
  }
  for (const license of recipe.license ?? []) lines.push(`LICENSE ${quote(license)}`);
  return `${lines.join('\n')}\n`;
}
