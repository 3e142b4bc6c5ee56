/**
 * Offline `terraform validate`: checks synthesized Terraform JSON against a provider schema in the
 * `terraform providers schema -json` shape. Every resource and data source type must exist, every
 * attribute and block must be known, values must fit their types, required attributes and blocks
 * must be present, and computed-only attributes must not be set. Values that are Terraform
 * expressions ("${...}") are only known at plan time, so they pass any type check.
 */

export type SchemaType = string | [string, SchemaType] | [string, Record<string, SchemaType>];

export interface SchemaAttribute {
  readonly type?: SchemaType;
  readonly required?: boolean;
  readonly optional?: boolean;
  readonly computed?: boolean;
  readonly deprecated?: boolean;
}

export interface SchemaBlockType {
  readonly nesting_mode: 'single' | 'list' | 'set' | 'map' | 'group';
  readonly min_items?: number;
  readonly max_items?: number;
  readonly block: SchemaBlock;
}

export interface SchemaBlock {
  readonly attributes?: Record<string, SchemaAttribute>;
  readonly block_types?: Record<string, SchemaBlockType>;
}

export interface ProviderSchema {
  readonly provider: { readonly block: SchemaBlock };
  readonly resource_schemas: Record<string, { readonly block: SchemaBlock }>;
  readonly data_source_schemas: Record<string, { readonly block: SchemaBlock }>;
}

export interface ProviderSchemaFile {
  readonly provider_schemas: Record<string, ProviderSchema>;
}

const RESOURCE_META = new Set(['count', 'for_each', 'depends_on', 'provider', 'lifecycle', 'provisioner', 'connection', 'dynamic']);
const DATA_META = new Set(['count', 'for_each', 'depends_on', 'provider', 'lifecycle', 'dynamic']);
const PROVIDER_META = new Set(['alias']);
const VARIABLE_KEYS = new Set(['type', 'default', 'description', 'sensitive', 'nullable', 'validation', 'ephemeral']);
const OUTPUT_KEYS = new Set(['value', 'description', 'sensitive', 'depends_on', 'precondition', 'ephemeral']);
const LIFECYCLE_KEYS = new Set(['create_before_destroy', 'prevent_destroy', 'ignore_changes', 'replace_triggered_by', 'precondition', 'postcondition']);

const isExpression = (value: unknown): boolean => typeof value === 'string' && value.includes('${');
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

class Checker {
  readonly errors: string[] = [];

  error(path: string, message: string): void {
    this.errors.push(`${path}: ${message}`);
  }

  value(path: string, type: SchemaType | undefined, value: unknown): void {
    if (value === null || value === undefined || isExpression(value) || type === undefined) return;
    if (typeof type === 'string') {
      switch (type) {
        case 'string':
          if (!['string', 'number', 'boolean'].includes(typeof value)) this.error(path, `expected string, got ${describe(value)}`);
          return;
        case 'number':
          if (typeof value === 'number') return;
          if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return;
          this.error(path, `expected number, got ${describe(value)}`);
          return;
        case 'bool':
          if (typeof value === 'boolean' || value === 'true' || value === 'false') return;
          this.error(path, `expected bool, got ${describe(value)}`);
          return;
        case 'dynamic':
          return;
        default:
          this.error(path, `unknown schema type ${type}`);
          return;
      }
    }
    const [kind, inner] = type;
    if (kind === 'list' || kind === 'set') {
      if (!Array.isArray(value)) return this.error(path, `expected ${kind}, got ${describe(value)}`);
      value.forEach((item, i) => this.value(`${path}[${i}]`, inner as SchemaType, item));
    } else if (kind === 'map') {
      if (!isObject(value)) return this.error(path, `expected map, got ${describe(value)}`);
      for (const [key, item] of Object.entries(value)) this.value(`${path}["${key}"]`, inner as SchemaType, item);
    } else if (kind === 'object') {
      if (!isObject(value)) return this.error(path, `expected object, got ${describe(value)}`);
      const fields = inner as Record<string, SchemaType>;
      for (const [key, item] of Object.entries(value)) {
        if (!(key in fields)) this.error(`${path}.${key}`, 'unknown object attribute');
        else this.value(`${path}.${key}`, fields[key], item);
      }
    } else {
      this.error(path, `unknown schema type ${JSON.stringify(type)}`);
    }
  }

  /** One instance of a block body (resource, data source, provider or nested block). */
  block(path: string, schema: SchemaBlock, body: unknown, meta: ReadonlySet<string>): void {
    if (!isObject(body)) return this.error(path, `expected a block body, got ${describe(body)}`);
    const attributes = schema.attributes ?? {};
    const blocks = schema.block_types ?? {};
    const dynamic = isObject(body.dynamic) ? body.dynamic : {};
    for (const [key, value] of Object.entries(body)) {
      const at = `${path}.${key}`;
      // "//" is Terraform JSON's comment key (cdktf puts construct metadata there).
      if (key === '//') continue;
      if (meta.has(key)) {
        if (key === 'lifecycle') this.lifecycle(at, value);
        continue;
      }
      const attribute = attributes[key];
      if (attribute) {
        if (attribute.computed && !attribute.optional && !attribute.required) this.error(at, 'is computed-only and cannot be set');
        this.value(at, attribute.type, value);
        continue;
      }
      const blockType = blocks[key];
      if (blockType) {
        this.nested(at, blockType, value);
        continue;
      }
      this.error(at, `unknown attribute or block${suggest(key, [...Object.keys(attributes), ...Object.keys(blocks)])}`);
    }
    for (const [name, spec] of Object.entries(dynamic)) {
      const at = `${path}.dynamic.${name}`;
      const blockType = blocks[name];
      if (!blockType) {
        this.error(at, `unknown block${suggest(name, Object.keys(blocks))}`);
        continue;
      }
      if (!isObject(spec) || !('for_each' in spec) || !('content' in spec)) {
        this.error(at, 'a dynamic block needs for_each and content');
        continue;
      }
      this.block(`${at}.content`, blockType.block, spec.content, new Set(['dynamic']));
    }
    for (const [key, attribute] of Object.entries(attributes)) {
      if (attribute.required && !(key in body)) this.error(`${path}.${key}`, 'is required');
    }
    for (const [key, blockType] of Object.entries(blocks)) {
      if ((blockType.min_items ?? 0) > 0 && !(key in body) && !(key in dynamic)) {
        this.error(`${path}.${key}`, `block is required (at least ${blockType.min_items})`);
      }
    }
  }

  nested(path: string, blockType: SchemaBlockType, value: unknown): void {
    if (isExpression(value)) return;
    const items = Array.isArray(value) ? value : [value];
    if (blockType.nesting_mode === 'single' || blockType.nesting_mode === 'group') {
      if (items.length > 1) this.error(path, 'takes a single block');
    } else if (blockType.nesting_mode === 'map') {
      if (!isObject(value)) return this.error(path, 'expected a map of blocks');
      for (const [key, item] of Object.entries(value)) this.block(`${path}["${key}"]`, blockType.block, item, new Set());
      return;
    } else {
      if (blockType.max_items && items.length > blockType.max_items) this.error(path, `at most ${blockType.max_items} block(s), got ${items.length}`);
      if (blockType.min_items && items.length < blockType.min_items) this.error(path, `at least ${blockType.min_items} block(s), got ${items.length}`);
    }
    items.forEach((item, i) => this.block(items.length > 1 ? `${path}[${i}]` : path, blockType.block, item, new Set(['dynamic'])));
  }

  lifecycle(path: string, value: unknown): void {
    if (!isObject(value)) return this.error(path, 'expected a block body');
    for (const key of Object.keys(value)) {
      if (!LIFECYCLE_KEYS.has(key)) this.error(`${path}.${key}`, 'unknown lifecycle argument');
    }
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

/** " (did you mean display_name?)" for a near miss. */
function suggest(name: string, known: string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? ` (did you mean ${best}?)` : '';
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** Instances of one resource/data/provider entry: cdktf writes an object, HCL-JSON also allows a list. */
function instances(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

export interface ValidateOptions {
  /** Provider local name → source address in the schema file. */
  readonly providers: Record<string, string>;
}

/** Returns one line per problem; an empty list means the configuration fits the schema. */
export function validateTerraformJson(config: unknown, schemaFile: ProviderSchemaFile, options: ValidateOptions): string[] {
  const check = new Checker();
  if (!isObject(config)) return ['configuration: expected a JSON object'];
  const schemaFor = (type: string): ProviderSchema | undefined => {
    const local = type.split('_')[0] ?? '';
    const source = options.providers[local];
    return source ? schemaFile.provider_schemas[source] : undefined;
  };

  for (const [key, value] of Object.entries(config)) {
    if (!['terraform', 'provider', 'resource', 'data', 'variable', 'output', 'locals', 'module', 'moved', 'import', 'check', '//'].includes(key)) {
      check.error(key, 'unknown top-level key');
    }
    if (key === 'resource' || key === 'data') {
      if (!isObject(value)) { check.error(key, 'expected an object'); continue; }
      for (const [type, byName] of Object.entries(value)) {
        const provider = schemaFor(type);
        const schemas = provider ? (key === 'resource' ? provider.resource_schemas : provider.data_source_schemas) : undefined;
        const schema = schemas?.[type];
        if (!schema) {
          check.error(`${key}.${type}`, `unknown ${key === 'resource' ? 'resource' : 'data source'} type${suggest(type, Object.keys(schemas ?? {}))}`);
          continue;
        }
        if (!isObject(byName)) { check.error(`${key}.${type}`, 'expected an object of named blocks'); continue; }
        for (const [name, body] of Object.entries(byName)) {
          for (const item of instances(body)) {
            check.block(`${key}.${type}.${name}`, schema.block, item, key === 'resource' ? RESOURCE_META : DATA_META);
          }
        }
      }
    } else if (key === 'provider') {
      if (!isObject(value)) { check.error(key, 'expected an object'); continue; }
      for (const [local, bodies] of Object.entries(value)) {
        const source = options.providers[local];
        const schema = source ? schemaFile.provider_schemas[source] : undefined;
        if (!schema) { check.error(`provider.${local}`, 'unknown provider'); continue; }
        instances(bodies).forEach((body, i) => check.block(`provider.${local}[${i}]`, schema.provider.block, body, PROVIDER_META));
      }
    } else if (key === 'variable' && isObject(value)) {
      for (const [name, body] of Object.entries(value)) {
        if (!isObject(body)) { check.error(`variable.${name}`, 'expected an object'); continue; }
        for (const field of Object.keys(body)) if (!VARIABLE_KEYS.has(field)) check.error(`variable.${name}.${field}`, 'unknown variable argument');
      }
    } else if (key === 'output' && isObject(value)) {
      for (const [name, body] of Object.entries(value)) {
        if (!isObject(body) || !('value' in body)) { check.error(`output.${name}`, 'needs a value'); continue; }
        for (const field of Object.keys(body)) if (!OUTPUT_KEYS.has(field)) check.error(`output.${name}.${field}`, 'unknown output argument');
      }
    } else if (key === 'terraform' && isObject(value)) {
      const required = isObject(value.required_providers) ? value.required_providers : {};
      for (const [local, source] of Object.entries(options.providers)) {
        const entry = required[local];
        if (!isObject(entry)) { check.error(`terraform.required_providers.${local}`, 'is missing'); continue; }
        if (typeof entry.source !== 'string' || !source.endsWith(entry.source.replace(/^registry\.terraform\.io\//, ''))) {
          check.error(`terraform.required_providers.${local}.source`, `expected ${source}, got ${JSON.stringify(entry.source)}`);
        }
        if (typeof entry.version !== 'string' || !/^=?\s*\d+\.\d+\.\d+$/.test(entry.version)) {
          check.error(`terraform.required_providers.${local}.version`, `must pin an exact version, got ${JSON.stringify(entry.version)}`);
        }
      }
    }
  }
  return check.errors;
}

/** Every string of a JSON document that holds a Terraform template ("${...}"), with its path. */
export function templateStrings(value: unknown, path = ''): Array<{ path: string; template: string }> {
  if (typeof value === 'string') return value.includes('${') || value.includes('%{') ? [{ path, template: value }] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => templateStrings(item, `${path}[${i}]`));
  if (isObject(value)) return Object.entries(value).flatMap(([key, item]) => templateStrings(item, path ? `${path}.${key}` : key));
  return [];
}

/**
 * Parses every template string with Terraform's own HCL parser (the Go hclsyntax package, compiled
 * to WebAssembly in @cdktf/hcl2json), one at a time so each problem names its JSON path. Catches
 * what schema checks cannot: a `${` nested inside an expression, an unbalanced bracket, a bad
 * for-expression.
 */
export async function checkTemplateSyntax(config: unknown): Promise<string[]> {
  const { parse } = await import('@cdktf/hcl2json');
  const problems: string[] = [];
  for (const { path, template } of templateStrings(config)) {
    // Terraform decodes the JSON string, then parses the result as a template; a heredoc takes
    // the decoded text as it is (quotes inside ${...} stay unescaped), so it parses the same way.
    try {
      await parse('template.tf', `locals {\n  value = <<VTAP_TEMPLATE_END\n${template}\nVTAP_TEMPLATE_END\n}\n`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      problems.push(`${path}: ${message.replace(/\s+/g, ' ').slice(0, 300)}`);
    }
  }
  return problems;
}
