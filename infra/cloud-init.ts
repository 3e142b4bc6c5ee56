import { AssetType, Fn, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Role = 'sink' | 'source' | 'file-server';

/** cloud-init/ at the repository root, or beside the bundled synth entry point. */
export const CLOUD_INIT_DIR = ((): string => {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, '../cloud-init'), join(here, '../../cloud-init')]) {
    if (existsSync(join(candidate, 'sink.yaml'))) return candidate;
  }
  return join(here, '../cloud-init');
})();

/**
 * The user-data of each role, copied into the synthesized stack as assets so `filebase64()` finds
 * them both under cdktf.out/ and in the unzipped Resource Manager stack. The files are static: what
 * differs per deployment travels in instance metadata, so they validate with `cloud-init schema`
 * exactly as shipped.
 */
export class CloudInit extends Construct {
  private readonly assets = new Map<Role, TerraformAsset>();

  constructor(scope: Construct, id: string, dir: string = CLOUD_INIT_DIR) {
    super(scope, id);
    for (const role of ['sink', 'source', 'file-server'] as const) {
      this.assets.set(role, new TerraformAsset(this, role, { path: join(dir, `${role}.yaml`), type: AssetType.FILE }));
    }
  }

  /** Base64 user-data for instance metadata. */
  userData(role: Role): string {
    const asset = this.assets.get(role);
    if (!asset) throw new Error(`no cloud-init for ${role}`);
    return Fn.filebase64(asset.path);
  }
}
