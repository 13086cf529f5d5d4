// Firewall rules for the network tests (test support only; never imported by the launcher itself).
import type { FirewallRule } from './firewall.ts';

/** An enabled egress allow-all rule at priority 1000 for every instance, with `partial` over it. */
export function rule(partial: Partial<FirewallRule> & Pick<FirewallRule, 'name'>): FirewallRule {
  return {
    priority: 1000,
    direction: 'EGRESS',
    action: 'allow',
    matches: [{ protocol: 'all', ports: [] }],
    sourceRanges: [],
    destinationRanges: [],
    targetTags: [],
    targetServiceAccounts: [],
    disabled: false,
    ...partial,
  };
}
