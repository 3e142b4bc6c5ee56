import { TerraformDataSource, type TerraformResource } from 'cdktf';

/**
 * The bare Terraform address of a resource or data source (`oci_core_vcn.network_vcn_1A2B3C`), for
 * hand-written expressions (splats, for-expressions) that cdktf's typed attributes cannot express.
 * Terraform still sees the reference, so dependencies stay implicit.
 */
export function address(element: TerraformResource | TerraformDataSource): string {
  const base = `${element.terraformResourceType}.${element.friendlyUniqueId}`;
  return element instanceof TerraformDataSource ? `data.${base}` : base;
}
