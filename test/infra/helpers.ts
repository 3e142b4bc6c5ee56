import { Testing } from 'cdktf';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildKit, type Kit } from '../../infra/package/kit.js';
import { STACK_NAME, VtapArchiverStack } from '../../infra/stack.js';
import { agentConfig } from '../../infra/agent-config.js';
import { AGENT_METRICS_NAMESPACE } from '../../infra/iam.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

let kit: Promise<Kit> | undefined;
/** The real node kit (esbuild bundle + cloud-init files), built once per test file into a temp dir. */
export function testKit(): Promise<Kit> {
  kit ??= buildKit(ROOT, mkdtempSync(join(tmpdir(), 'vtap-kit-')));
  return kit;
}

export interface Synthesized {
  readonly json: string;
  readonly config: TerraformJson;
}

export interface TerraformJson {
  terraform: Record<string, any>;
  provider: Record<string, any[]>;
  variable: Record<string, any>;
  output: Record<string, any>;
  locals: Record<string, string>;
  resource: Record<string, Record<string, any>>;
  data: Record<string, Record<string, any>>;
}

/** Synthesizes the stack with cdktf's Testing app; returns the JSON and its parsed form. */
export async function synthesize(): Promise<Synthesized> {
  const { file, objectName } = await testKit();
  const app = Testing.app();
  const stack = new VtapArchiverStack(app, STACK_NAME, { kitFile: file, kitObjectName: objectName, cloudInitDir: join(ROOT, 'cloud-init') });
  const json = Testing.synth(stack);
  return { json, config: JSON.parse(json) as TerraformJson };
}

/** The single resource of a type (fails the test when there are several or none). */
export function only(config: TerraformJson, type: string): any {
  const all = Object.values(config.resource[type] ?? {});
  if (all.length !== 1) throw new Error(`expected one ${type}, found ${all.length}`);
  return all[0];
}

/** Resources of a type by logical id without cdktf's hash suffix, e.g. "security_jump-ssh-in". */
export function byPath(config: TerraformJson, type: string): Map<string, any> {
  return new Map(Object.entries(config.resource[type] ?? {}).map(([id, body]) => [id.replace(/_[0-9A-F]{8}$/, ''), body]));
}

/**
 * The agent config a sink in eu-frankfurt-1 gets (infra/agent-config.ts), with the capture-filter
 * sweep on or off: what the stack renders, for checking against the agent's own config schema.
 */
export function renderedSinkConfig(expirySweep: boolean): ReturnType<typeof agentConfig> {
  return agentConfig({
    namespace: 'ns', bucket: 'captures', region: 'eu-frankfurt-1', prefix: 'captures/', decap: 'vxlan',
    compress: 'zstd', vxlanPorts: [4789], spoolQuotaMegabytes: 40000,
    monitoring: { enabled: true, compartmentId: 'ocid1.compartment.oc1..c', namespace: AGENT_METRICS_NAMESPACE, region: 'eu-frankfurt-1' },
    captureFilter: { expirySweep, filterId: 'ocid1.capturefilter.oc1..f', region: 'eu-frankfurt-1' },
  });
}
