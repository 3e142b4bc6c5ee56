import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { schemaYaml } from '../../infra/package/schema-yaml.js';
import { VARIABLES } from '../../infra/variables.js';
import { synthesize, type TerraformJson } from './helpers.js';

/**
 * Resource Manager's rules for schema.yaml (its published meta schema), checked for what this stack
 * uses: known types consistent with the Terraform types, enums with valid defaults, pickers with
 * their dependsOn, visibility conditions over existing variables, groups and outputs.
 */
const STATIC_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'enum', 'array', 'text', 'password', 'datetime', 'file']);
const OUTPUT_TYPES = new Set(['boolean', 'string', 'copyableString', 'number', 'link', 'ocid', 'csv', 'json', 'list', 'map']);
const COMPATIBLE: Record<string, (rm: string) => boolean> = {
  string: (rm) => ['string', 'enum', 'text', 'password', 'datetime', 'file'].includes(rm) || rm.startsWith('oci:'),
  number: (rm) => rm === 'number' || rm === 'integer',
  bool: (rm) => rm === 'boolean',
  'list(string)': (rm) => rm === 'array',
  'list(number)': (rm) => rm === 'array',
};

let schema: any;
let config: TerraformJson;
beforeAll(async () => {
  schema = parse(schemaYaml('1.2.3'));
  config = (await synthesize()).config;
});

/** Every `${name}` a visibility or dependsOn value refers to. */
function references(value: unknown): string[] {
  if (typeof value === 'string') return [...value.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!);
  if (Array.isArray(value)) return value.flatMap(references);
  if (value && typeof value === 'object') return Object.values(value).flatMap(references);
  return [];
}

function checkBooleanStatement(value: unknown, where: string): void {
  if (typeof value === 'boolean') return;
  if (typeof value === 'string') {
    expect(value, where).toMatch(/^\$\{\w+\}$/);
    return;
  }
  expect(value, where).toBeTypeOf('object');
  const entries = Object.entries(value as object);
  expect(entries, where).toHaveLength(1);
  const [operator, operands] = entries[0]!;
  expect(['eq', 'ge', 'le', 'gt', 'lt', 'and', 'or', 'not'], where).toContain(operator);
  expect(Array.isArray(operands), where).toBe(true);
  if (['and', 'or', 'not'].includes(operator)) (operands as unknown[]).forEach((o) => checkBooleanStatement(o, where));
  else {
    expect(operands, where).toHaveLength(2);
    for (const operand of operands as unknown[]) expect(['string', 'number'], where).toContain(typeof operand);
  }
}

describe('schema.yaml for Resource Manager', () => {
  it('has the required top-level fields', () => {
    expect(['1.0.0', '1.1.0']).toContain(schema.schemaVersion);
    expect(schema.version).toBe('1.2.3');
    expect(schema.locale).toBe('en');
    expect(schema.title).toBeTruthy();
  });

  it('types every variable with a Resource Manager type consistent with its Terraform type', () => {
    for (const [name, variable] of Object.entries<any>(schema.variables)) {
      const tfType = config.variable[name]?.type as string;
      expect(tfType, name).toBeDefined();
      expect(STATIC_TYPES.has(variable.type) || /^oci:[a-z]+:[a-z]+:[a-z]+$/.test(variable.type), `${name}: ${variable.type}`).toBe(true);
      expect(COMPATIBLE[tfType]!(variable.type), `${name}: ${tfType} vs ${variable.type}`).toBe(true);
      if (variable.type === 'array') expect(['string', 'number']).toContain(variable.items.type);
      if ('default' in variable) expect(variable.default, name).toEqual(config.variable[name].default);
      expect(variable.title, name).toBeTruthy();
    }
  });

  it('gives enums their values and valid defaults, and shape pickers their compartment', () => {
    for (const [name, variable] of Object.entries<any>(schema.variables)) {
      if (variable.type === 'enum') {
        expect(variable.enum.every((v: unknown) => typeof v === 'string'), name).toBe(true);
        expect(variable.enum, name).toContain(variable.default);
      }
      if (variable.type === 'oci:core:instanceshape:name') expect(variable.dependsOn, name).toEqual({ compartmentId: '${compartment_ocid}' });
    }
  });

  it('shows a variable only under conditions on variables that exist', () => {
    const names = new Set(Object.keys(schema.variables));
    const conditional = Object.entries<any>(schema.variables).filter(([, v]) => 'visible' in v);
    expect(conditional.map(([n]) => n)).toEqual(expect.arrayContaining(['sink_count_min', 'capture_filter_rules_json', 'tenancy_ocid']));
    for (const [name, variable] of conditional) {
      checkBooleanStatement(variable.visible, name);
      for (const ref of references(variable.visible)) expect(names, `${name} refers to ${ref}`).toContain(ref);
    }
    expect(schema.variables.capture_filter_rules_json).toMatchObject({ type: 'text', multiline: true, visible: { eq: ['${capture_filter_preset}', 'custom'] } });
  });

  it('refuses an empty custom capture filter in the form (a filter holds 1..10 rules)', () => {
    const field = schema.variables.capture_filter_rules_json;
    const pattern = new RegExp(field.pattern);
    expect(pattern.test(field.default)).toBe(true);
    expect(pattern.test('[{"direction": "INGRESS", "protocol": "17", "udpDestinationPort": 53}]')).toBe(true);
    expect(pattern.test(' [\n  {"direction": "EGRESS"}\n]\n')).toBe(true);
    for (const bad of ['[]', '[ ]', '', 'not json', '{"direction": "INGRESS"}']) expect(pattern.test(bad), bad).toBe(false);
  });

  it('groups every variable exactly once and names only outputs the stack has', () => {
    const grouped = schema.variableGroups.flatMap((g: any) => g.variables);
    expect(new Set(grouped).size).toBe(grouped.length);
    expect([...grouped].sort()).toEqual(VARIABLES.map((v) => v.name).sort());
    for (const [name, output] of Object.entries<any>(schema.outputs)) {
      expect(config.output[name], name).toBeDefined();
      expect(OUTPUT_TYPES.has(output.type), `${name}: ${output.type}`).toBe(true);
    }
    for (const group of schema.outputGroups) for (const name of group.outputs) expect(schema.outputs[name], name).toBeDefined();
  });
});
