/**
 * docs/configuration.md's table of variables, generated from CONFIG_SCHEMA so the doc cannot drift from
 * what the service reads: `pnpm docs:config` writes it between the markers, config-table.test.ts fails
 * when the doc holds anything else.
 */
import { CONFIG_SCHEMA, type VariableSpec } from './config.js';

export const TABLE_START =
  '<!-- config-table:start: generated from apps/server/src/config.ts by `pnpm docs:config`; edit the schema, not the table -->';
export const TABLE_END = '<!-- config-table:end -->';

const code = (s: string | number | boolean) => `\`${s}\``;

export function typeOf(spec: VariableSpec): string {
  switch (spec.type) {
    case 'bool':
    case 'string':
      return spec.type;
    case 'int':
      return spec.max === undefined ? `int ≥ ${spec.min}` : `int, ${spec.min}–${spec.max}`;
    case 'enum':
      return spec.values.map(code).join(' \\| ');
    case 'url':
      return `${spec.protocols.map((p) => code(p.replace(/:$/, ''))).join('/')} URL`;
    case 'origins':
      return 'list of origins';
  }
}

export function defaultOf(spec: VariableSpec): string {
  if (spec.default !== null) return code(spec.default);
  return ('defaultText' in spec && spec.defaultText) || '—';
}

/** The Markdown table, one row per variable, in the schema's order. */
export function configTable(): string {
  const rows = Object.values(CONFIG_SCHEMA).map(
    (spec: VariableSpec) => `| ${code(spec.name)} | ${typeOf(spec)} | ${defaultOf(spec)} | ${spec.description} |`,
  );
  return ['| Variable | Type | Default | Description |', '|---|---|---|---|', ...rows].join('\n');
}

/** `markdown` with the text between the markers replaced by the generated table. */
export function withConfigTable(markdown: string): string {
  const start = markdown.indexOf(TABLE_START);
  const end = markdown.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`no "${TABLE_START}" … "${TABLE_END}" markers, in that order`);
  return `${markdown.slice(0, start + TABLE_START.length)}\n${configTable()}\n${markdown.slice(end)}`;
}
