/** The provider the stack uses, as Terraform addresses it (and as the schema file keys it). */
export const OCI_PROVIDER_SOURCE = 'registry.terraform.io/oracle/oci';
