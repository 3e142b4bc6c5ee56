import { App } from 'cdktf';
import { zipSync, type Zippable } from 'fflate';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { STACK_NAME, VtapArchiverStack } from '../stack.js';
import { checkTemplateSyntax, validateTerraformJson, type ProviderSchemaFile } from './provider-schema.js';
import { OCI_PROVIDER_SOURCE, PROVIDER_SCHEMA_FILES, STACK_PROVIDERS } from './provider-source.js';
import { schemaProviderEnv, terraformAvailable, terraformValidate, validateErrors } from '../../testkit/schema-provider/terraform.js';
import { buildKit, type Kit } from './kit.js';
import { schemaYaml } from './schema-yaml.js';

export { OCI_PROVIDER_SOURCE };
export const TERRAFORM_FILE = 'main.tf.json';
/** The terraform {} block as HCL: Resource Manager wants at least one `.tf` file in the folder. */
export const VERSIONS_FILE = 'versions.tf';

/** Every provider's committed schema in one `terraform providers schema -json` document. */
export function loadProviderSchema(root: string): ProviderSchemaFile {
  const schemas = Object.values(PROVIDER_SCHEMA_FILES).map((file) => JSON.parse(readFileSync(join(root, file), 'utf8')) as ProviderSchemaFile);
  return { ...schemas[0]!, provider_schemas: Object.assign({}, ...schemas.map((s) => s.provider_schemas)) };
}

interface TerraformBlock {
  required_version?: string;
  required_providers?: Record<string, { source: string; version: string }>;
}

/**
 * versions.tf: the synthesized `terraform {}` block (required version, pinned providers) written as
 * HCL. main.tf.json then carries no terraform block of its own: a module may declare
 * required_providers only once.
 */
export function versionsTf(block: TerraformBlock): string {
  const providers = Object.entries(block.required_providers ?? {})
    .map(([name, p]) => `    ${name} = {\n      source  = ${JSON.stringify(p.source)}\n      version = ${JSON.stringify(p.version)}\n    }`);
  return [
    '# The terraform block of the vtap-archiver stack (main.tf.json holds the rest).',
    'terraform {',
    ...(block.required_version ? [`  required_version = ${JSON.stringify(block.required_version)}`] : []),
    '  required_providers {',
    ...providers,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Synthesizes the stack into `outdir` (cdktf layout: stacks/<name>/cdk.tf.json + assets/). */
export function synthStack(root: string, outdir: string, kit: Pick<Kit, 'file' | 'objectName'>): string {
  const app = new App({ outdir });
  new VtapArchiverStack(app, STACK_NAME, { kitFile: kit.file, kitObjectName: kit.objectName, cloudInitDir: join(root, 'cloud-init') });
  app.synth();
  return join(outdir, 'stacks', STACK_NAME);
}

/** Fails with every schema problem listed: the zip must never carry a configuration terraform would reject. */
export async function assertValid(config: unknown, root: string): Promise<void> {
  const problems = [
    ...validateTerraformJson(config, loadProviderSchema(root), { providers: STACK_PROVIDERS }),
    ...(await checkTemplateSyntax(config)),
  ];
  if (problems.length > 0) throw new Error(`synthesized Terraform does not fit the provider schema:\n  ${problems.join('\n  ')}`);
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listFiles(path) : [path];
  });
}

export interface PackageResult {
  readonly zipFile: string;
  readonly entries: string[];
  readonly kit: Kit;
  /** Outcome of `terraform validate` against the schema-only provider. */
  readonly terraform: 'valid' | 'skipped (no terraform on PATH)';
}

/**
 * dist/vtap-archiver-stack.zip for Resource Manager (and plain `terraform init && terraform apply`):
 * main.tf.json with versions.tf (its terraform {} block), the assets it references (cloud-init files, the node kit with the agent bundle),
 * schema.yaml, and cloud-init/ and the agent bundle at the top for people who read the zip.
 */
export async function packageStack(root: string, zipFile = join(root, 'dist/vtap-archiver-stack.zip')): Promise<PackageResult> {
  const kit = await buildKit(root);
  const work = mkdtempSync(join(tmpdir(), 'vtap-archiver-synth-'));
  try {
    const stackDir = synthStack(root, work, kit);
    const config = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    await assertValid(config, root);
    // cdktf pins a local state file under this checkout; Resource Manager keeps state itself, and a
    // user running terraform in the unzipped folder gets the default local state there.
    const { backend: _backend, ...terraformBlock } = (config.terraform ?? {}) as TerraformBlock & { backend?: unknown };
    const unknownKeys = Object.keys(terraformBlock).filter((key) => key !== 'required_version' && key !== 'required_providers');
    if (unknownKeys.length > 0) throw new Error(`terraform block has keys versions.tf does not carry: ${unknownKeys.join(', ')}`);
    delete config.terraform;

    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    const files: Zippable = {};
    const add = (name: string, data: Uint8Array): void => {
      files[name] = [data, { mtime: new Date('2000-01-01T00:00:00Z') }];
    };
    add(TERRAFORM_FILE, Buffer.from(`${JSON.stringify(config, null, 2)}\n`));
    add(VERSIONS_FILE, Buffer.from(versionsTf(terraformBlock)));
    add('schema.yaml', Buffer.from(schemaYaml(version)));
    for (const file of listFiles(join(stackDir, 'assets'))) add(relative(stackDir, file), readFileSync(file));
    for (const file of listFiles(join(root, 'cloud-init'))) add(`cloud-init/${relative(join(root, 'cloud-init'), file)}`, readFileSync(file));
    add('agent/vtap-archiver.mjs', readFileSync(kit.agentBundle));

    // With a terraform on PATH, let Terraform itself validate exactly what goes into the zip.
    let terraform: PackageResult['terraform'] = 'skipped (no terraform on PATH)';
    if (terraformAvailable()) {
      const unpacked = join(work, 'unpacked');
      for (const [name, entry] of Object.entries(files)) {
        mkdirSync(dirname(join(unpacked, name)), { recursive: true });
        writeFileSync(join(unpacked, name), (entry as [Uint8Array, unknown])[0]);
      }
      const problems = validateErrors(terraformValidate(unpacked, schemaProviderEnv(root, join(work, 'terraform'))));
      if (problems.length > 0) throw new Error(`terraform validate rejects the stack:\n  ${problems.join('\n  ')}`);
      terraform = 'valid';
    }

    mkdirSync(dirname(zipFile), { recursive: true });
    writeFileSync(zipFile, zipSync(files, { level: 9 }));
    return { zipFile, entries: Object.keys(files).sort(), kit, terraform };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
