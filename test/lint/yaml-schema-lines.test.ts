// The example YAML files name their JSON Schema on their first line, as editors with the YAML
// language server read it, and each validates against the schema it names (ajv, the committed
// config/schema.json or config/train.schema.json): what an editor shows as valid is.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../helpers/media.js';

const dir = path.join(repoRoot, 'config');
const yamls = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
const MODELINE = /^# yaml-language-server: \$schema=(\S+)\n/;

describe('config/*.yaml', () => {
  it('are all here (the list the checks below run over)', () => {
    expect(yamls).toEqual(expect.arrayContaining(['default.yaml', 'streams.example.yaml', 'cluster.example.yaml', 'train.example.yaml']));
  });

  for (const file of yamls) {
    it(`${file} names its schema on the first line and validates against it`, () => {
      const text = readFileSync(path.join(dir, file), 'utf8');
      const m = MODELINE.exec(text);
      expect(m?.[1], `${file}: first line # yaml-language-server: $schema=…`).toBe(file.startsWith('train.') ? 'train.schema.json' : 'schema.json');
      const schema = JSON.parse(readFileSync(path.join(dir, m![1]!), 'utf8')) as object;
      const ajv = new Ajv2020({ allErrors: true, strict: false });
      const validate = ajv.compile(schema);
      expect(validate(parse(text)) ? [] : validate.errors, file).toEqual([]);
    });
  }
});
