/**
 * The rules port's in-memory twin: the policy-routing rules of one simulated node. A rule is
 * identified by all of its fields, as the kernel refuses a second identical rule (NLM_F_EXCL);
 * prefixes are kept in canonical text and every change is logged.
 */
import { type Clock, ipFamily, type Millis, type Rule, type RulesPort, ruleIdentity } from '@bmx7/core';
import { canonicalIPv6 } from './ipv6.js';

export interface RuleChange {
  op: 'add' | 'remove';
  rule: Rule;
  /** Virtual time of the change, when the twin was given a clock. */
  at?: Millis;
}

export interface MemoryRules extends RulesPort {
  /** The rules, by preference (then as the kernel lists rules of equal preference: oldest first). */
  list(): Rule[];
  has(rule: Rule): boolean;
  readonly changes: readonly RuleChange[];
  onChange(listener: (change: RuleChange) => void): () => void;
  /** Number of changes so far. */
  readonly version: number;
  /** Forgets every rule without logging (a reboot of the simulated kernel). */
  flush(): void;
}

function canonicalPrefix(text: string, family: number, what: string): string {
  if (ipFamily(text) !== family)
    throw new RangeError(`rule ${what} ${JSON.stringify(text)} is not IPv${family}`);
  const slash = text.indexOf('/');
  const full = slash < 0 ? `${text}/${family === 6 ? 128 : 32}` : text;
  return family === 6 ? canonicalIPv6(full) : full;
}

function normalise(rule: Rule): Rule {
  if (rule.family !== 4 && rule.family !== 6) throw new RangeError(`rule family ${rule.family}`);
  const out: Rule = { family: rule.family, priority: rule.priority, table: rule.table };
  if (rule.from !== undefined) out.from = canonicalPrefix(rule.from, rule.family, 'from');
  if (rule.to !== undefined) out.to = canonicalPrefix(rule.to, rule.family, 'to');
  if (rule.iif !== undefined) out.iif = rule.iif;
  if (rule.oif !== undefined) out.oif = rule.oif;
  return out;
}

export function createMemoryRules(init: { clock?: Clock } = {}): MemoryRules {
  const rules = new Map<string, Rule>();
  const changes: RuleChange[] = [];
  const listeners = new Set<(change: RuleChange) => void>();
  let version = 0;
  const record = (change: RuleChange) => {
    if (init.clock) change.at = init.clock.now();
    version++;
    changes.push(change);
    if (changes.length > 10_000) changes.splice(0, changes.length - 10_000);
    for (const l of listeners) l(change);
  };
  return {
    add(rule) {
      const r = normalise(rule);
      const id = ruleIdentity(r);
      if (rules.has(id)) return;
      rules.set(id, r);
      record({ op: 'add', rule: r });
    },
    remove(rule) {
      const r = normalise(rule);
      const id = ruleIdentity(r);
      const had = rules.get(id);
      if (!had) return;
      rules.delete(id);
      record({ op: 'remove', rule: had });
    },
    list: () => [...rules.values()].sort((a, b) => a.priority - b.priority),
    has: (rule) => rules.has(ruleIdentity(normalise(rule))),
    changes,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get version() {
      return version;
    },
    flush() {
      rules.clear();
    },
  };
}
