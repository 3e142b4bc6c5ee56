import type { CoreCaptureFilter } from './.gen/oci/core-capture-filter/index.js';

/**
 * Who owns a capture filter's rules between applies. The stack creates each filter with its
 * standing rules (a preset or the custom JSON); after that `vtap-archiver filter` (and the agent's
 * filter endpoint and expiry sweep) add and remove rules on an event and record them in the
 * filter's freeform tags. An apply must not undo those, so Terraform ignores changes to the rules
 * and tags of an existing filter.
 *
 * The price: a later edit of the stack's own rules (capture_filter_rules_json, or a preset's rules
 * in the code) does not reach an existing filter. Switching capture_filter_preset still works (each
 * preset is its own filter). To push edited standing rules, replace the filter once:
 *   terraform apply -replace='oci_core_capture_filter.<name>[0]'
 * (Terraform's lifecycle cannot depend on a variable, and the stack's schema check admits only
 * oracle/oci resources, so no terraform_data trigger.)
 */
export function letCliChangeFilterRules(filters: CoreCaptureFilter[]): void {
  // Only ignore_changes: the custom filter's lifecycle also holds a 1..10-rules precondition.
  for (const filter of filters) filter.addOverride('lifecycle.ignore_changes', ['vtap_capture_filter_rules', 'freeform_tags']);
}
