import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA, CONFIG_VARIABLES, loadConfig } from './config.js';
import { configTable, TABLE_END, TABLE_START, withConfigTable } from './config-table.js';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url)), 'utf8');

describe('docs/configuration.md', () => {
  it('holds exactly the table the schema generates (run `pnpm docs:config` after changing the schema)', () => {
    const table = doc.slice(doc.indexOf(TABLE_START) + TABLE_START.length, doc.indexOf(TABLE_END)).trim();
    expect(table).toBe(configTable());
    expect(withConfigTable(doc)).toBe(doc);
  });

  it('has one row per variable the service reads, each named once', () => {
    const rows = configTable().split('\n').slice(2);
    expect(rows.map((r) => /^\| `(\w+)` \|/.exec(r)?.[1])).toEqual([...CONFIG_VARIABLES]);
    expect(new Set(CONFIG_VARIABLES).size).toBe(CONFIG_VARIABLES.length);
  });

  it('documents the defaults loadConfig really uses', () => {
    // With nothing set but a secret, every variable takes the schema's default.
    const c = loadConfig({ [CONFIG_SCHEMA.jwtSecret.name]: 'x'.repeat(32) });
    expect(c.recordingEnabled).toBe(CONFIG_SCHEMA.recordingEnabled.default);
    expect(c.maxSizeMb).toBe(CONFIG_SCHEMA.maxSizeMb.default);
    expect(c.capture.frameRate).toBe(CONFIG_SCHEMA.frameRate.default);
    expect(c.port).toBe(CONFIG_SCHEMA.port.default);
    expect(c.nodeEnv).toBe(CONFIG_SCHEMA.nodeEnv.default);
  });
});
