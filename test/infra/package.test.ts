import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildKit } from '../../infra/package/kit.js';
import { terraformAvailable } from '../../testkit/schema-provider/terraform.js';
import { VARIABLE_GROUPS } from '../../infra/variables.js';
import { ROOT } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'vtap-stack-zip-'));
const zipFile = join(work, 'vtap-archiver-stack.zip');
let files: Record<string, Uint8Array>;
let terraform: any;
let schema: any;
let packageOutput: string;
const text = (name: string): string => Buffer.from(files[name]!).toString('utf8');

beforeAll(() => {
  // The real `npm run package` path: gen:oci, esbuild, synth, validate, zip.
  packageOutput = execFileSync(process.execPath, [join(ROOT, 'scripts/package-stack.mjs'), 'package', zipFile], { cwd: ROOT, stdio: 'pipe' }).toString();
  files = unzipSync(readFileSync(zipFile));
  terraform = JSON.parse(text('main.tf.json'));
  schema = parse(text('schema.yaml'));
}, 180_000);

describe('the Resource Manager stack zip', () => {
  it('was validated by terraform itself when packaged (where terraform is installed)', () => {
    expect(packageOutput).toContain(`terraform validate: ${terraformAvailable() ? 'valid' : 'skipped (no terraform on PATH)'}`);
  });

  it('passes `unzip -t` and holds the Terraform, schema.yaml, cloud-init and the agent', () => {
    expect(execFileSync('unzip', ['-tq', zipFile]).toString()).toMatch(/No errors detected/);
    for (const name of ['main.tf.json', 'versions.tf', 'schema.yaml', 'cloud-init/sink.yaml', 'cloud-init/source.yaml', 'cloud-init/file-server.yaml',
      'cloud-init/bootstrap.sh', 'cloud-init/vtap-archiver.service', 'agent/vtap-archiver.mjs']) {
      expect(files[name], name).toBeDefined();
    }
  });

  it('ships versions.tf with the terraform block (Resource Manager wants a .tf file), pinning both providers', () => {
    const versions = text('versions.tf');
    expect(versions).toMatch(/^terraform \{$/m);
    expect(versions).toContain('required_version = ">= 1.5.0"');
    expect(versions).toMatch(/oci = \{\n\s+source\s+= "registry\.terraform\.io\/oracle\/oci"\n\s+version = "8\.28\.0"/);
    expect(versions).toMatch(/time = \{\n\s+source\s+= "registry\.terraform\.io\/hashicorp\/time"\n\s+version = "0\.13\.1"/);
    expect(versions).not.toContain('backend');
  });

  it('has no terraform block in main.tf.json: no backend (Resource Manager keeps the state), no second required_providers', () => {
    // A module may declare required_providers once; terraform-validate.test.ts shows the refusal.
    expect(terraform.terraform).toBeUndefined();
  });

  it('contains every file the Terraform references by path', () => {
    const referenced = [...JSON.stringify(terraform).matchAll(/(assets\/[^"\\]+)/g)].map((m) => m[1]!);
    expect(referenced.length).toBeGreaterThanOrEqual(4); // three user-data files and the kit
    for (const path of new Set(referenced)) expect(files[path], path).toBeDefined();
  });

  it('declares in schema.yaml exactly the Terraform variables, every required one included', () => {
    const tfVariables = Object.keys(terraform.variable);
    const yamlVariables = Object.keys(schema.variables);
    for (const name of yamlVariables) expect(tfVariables, `schema.yaml variable ${name}`).toContain(name);
    for (const [name, body] of Object.entries<any>(terraform.variable)) {
      if (!('default' in body)) {
        expect(yamlVariables, `required variable ${name}`).toContain(name);
        expect(schema.variables[name].required).toBe(true);
      }
    }
    const grouped = schema.variableGroups.flatMap((g: any) => g.variables);
    expect([...grouped].sort()).toEqual([...yamlVariables].sort());
    expect(schema.variableGroups.filter((g: any) => g.visible !== false).map((g: any) => g.title)).toEqual([...VARIABLE_GROUPS]);
  });

  it('uses the console pickers for compartment, region, SSH key and shapes', () => {
    expect(schema.variables.compartment_ocid.type).toBe('oci:identity:compartment:id');
    expect(schema.variables.region.type).toBe('oci:identity:region:name');
    expect(schema.variables.ssh_public_key.type).toBe('oci:core:ssh:publickey');
    expect(schema.variables.sink_shape).toMatchObject({ type: 'oci:core:instanceshape:name', dependsOn: { compartmentId: '${compartment_ocid}' } });
    expect(schema.variables.nlb_hashing_policy).toMatchObject({ type: 'enum', enum: ['TWO_TUPLE', 'THREE_TUPLE', 'FIVE_TUPLE'] });
    expect(schema.variables.tenancy_ocid.visible).toBe(false);
  });

  it('carries a node kit with the agent bundle, the unit and the bootstrap scripts', () => {
    const kit = Object.keys(files).find((name) => /^assets\/.*\/vtap-archiver-kit-.*\.tar\.gz$/.test(name));
    expect(kit).toBeDefined();
    const kitFile = join(work, 'kit.tar.gz');
    writeFileSync(kitFile, files[kit!]!);
    const listing = execFileSync('tar', ['-tvzf', kitFile]).toString();
    for (const name of ['bootstrap.sh', 'demo-fetch.sh', 'vtap-archiver.mjs', 'vtap-archiver.service']) expect(listing).toContain(name);
    expect(listing).toMatch(/^-rwxr-xr-x root\/root .* bootstrap\.sh$/m);
  });

  it('builds the kit reproducibly, so an unchanged agent never replaces the sinks\' configuration', async () => {
    const [first, second] = [await buildKit(ROOT, join(work, 'kit-a')), await buildKit(ROOT, join(work, 'kit-b'))];
    expect(first.sha256).toBe(second.sha256);
    expect(first.objectName).toBe(second.objectName);
    expect(first.objectName).toContain(first.sha256.slice(0, 12));
  }, 60_000);

  it('ships an agent bundle that runs under plain node and reports the package version', () => {
    const bundle = join(work, 'vtap-archiver.mjs');
    writeFileSync(bundle, files['agent/vtap-archiver.mjs']!);
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(execFileSync(process.execPath, [bundle, '--version'], { cwd: work }).toString().trim()).toBe(version);
    expect(execFileSync(process.execPath, [bundle, '--help'], { cwd: work }).toString()).toContain('run');
  });
});
