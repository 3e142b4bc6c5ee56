// Fault injection: rules matched against each request, consumed a set number of times.
import type { IncomingMessage } from 'node:http';

export type FaultAction =
  /** Reply with this status and error code instead of serving the request. */
  | { status: number; code?: string; message?: string; retryAfterSeconds?: number }
  /** Wait this long, then serve the request normally. */
  | { delayMs: number }
  /** Close the connection without a reply, after reading this many body bytes (0 = at once). */
  | { drop: true; afterBodyBytes?: number };

export interface FaultRule {
  method?: string;
  /** Matched against the decoded path plus query, e.g. /n/ns/b/bucket/u/a/b.gz?uploadId=...&uploadPartNum=2 */
  path?: RegExp;
  /** How many matching requests the rule applies to (default 1). */
  times?: number;
  action: FaultAction;
}

export interface ArmedFault {
  rule: FaultRule;
  remaining: number;
  /** Requests this rule was applied to. */
  hits: number;
}

export class Faults {
  private readonly rules: ArmedFault[] = [];

  add(rule: FaultRule): ArmedFault {
    const armed = { rule, remaining: rule.times ?? 1, hits: 0 };
    this.rules.push(armed);
    return armed;
  }

  clear(): void {
    this.rules.length = 0;
  }

  /** The first live rule matching this request, consumed by one; undefined when none applies. */
  take(req: IncomingMessage, target: string): FaultAction | undefined {
    for (const armed of this.rules) {
      if (armed.remaining <= 0) continue;
      if (armed.rule.method && armed.rule.method !== req.method) continue;
      if (armed.rule.path && !armed.rule.path.test(target)) continue;
      armed.remaining -= 1;
      armed.hits += 1;
      return armed.rule.action;
    }
    return undefined;
  }
}
