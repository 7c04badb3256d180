import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { configSchema } from '../src/config/schema.js';

type Node = z.core.$ZodType;
const def = (s: Node) =>
  s._zod.def as unknown as {
    type: string;
    innerType?: Node;
    in?: Node;
    shape?: Record<string, Node>;
    valueType?: Node;
    element?: Node;
  };

function unwrap(s: Node): Node {
  for (;;) {
    const d = def(s);
    if (d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}

/** Every key path in the schema: cameras.<id>.x is "cameras.*.x", list items "mqtt.users[].username". */
function keyPaths(s: Node, prefix = ''): string[] {
  const d = def(unwrap(s));
  if (d.type === 'object' && d.shape)
    return Object.entries(d.shape).flatMap(([k, v]) => [`${prefix}${k}`, ...keyPaths(v, `${prefix}${k}.`)]);
  if (d.type === 'record' && d.valueType) return keyPaths(d.valueType, `${prefix}*.`);
  if (d.type === 'array' && d.element) return keyPaths(d.element, prefix.replace(/\.$/, '[].'));
  return [];
}

describe('config/configuration.example.yaml', () => {
  it('documents every settings key (as a key or a commented-out key)', () => {
    const text = readFileSync(new URL('../../config/configuration.example.yaml', import.meta.url), 'utf8');
    const present = new Set([...text.matchAll(/(?:^[\s#-]*|[{,]\s*)([a-z_][a-z0-9_]*):/gm)].map((m) => m[1]));
    const missing = keyPaths(configSchema).filter(
      (p) => !present.has(p.split(/[.\]]/).filter(Boolean).at(-1)!.replace('[', '')),
    );
    assert.deepEqual(missing, [], `keys missing from the example file: ${missing.join(', ')}`);
  });
});
