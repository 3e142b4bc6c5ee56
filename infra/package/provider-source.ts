/** The providers the stack uses, as Terraform addresses them (and as the schema files key them). */
export const OCI_PROVIDER_SOURCE = 'registry.terraform.io/oracle/oci';
export const TIME_PROVIDER_SOURCE = 'registry.terraform.io/hashicorp/time';

/** Local name -> source address, for the offline schema checks. */
export const STACK_PROVIDERS = { oci: OCI_PROVIDER_SOURCE, time: TIME_PROVIDER_SOURCE } as const;

/** Each provider's committed schema (`terraform providers schema -json` shape), relative to the repository root. */
export const PROVIDER_SCHEMA_FILES = {
  [OCI_PROVIDER_SOURCE]: 'infra/oci/provider-schema.json',
  [TIME_PROVIDER_SOURCE]: 'infra/time/provider-schema.json',
} as const;
