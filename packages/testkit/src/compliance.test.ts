// The in-memory twins pass the same compliance suites as the Linux adapters.
import { createVirtualClock } from './clock.js';
import {
  describeClockCompliance,
  describeRoutesCompliance,
  describeRulesCompliance,
  describeStorageCompliance,
} from './compliance.js';
import { createMemoryRoutes } from './routes.js';
import { createMemoryRules } from './rules.js';
import { createMemoryStorage } from './storage.js';

describeClockCompliance('virtual clock', () => {
  const clock = createVirtualClock(1000);
  return { clock, advance: (ms) => void clock.advance(ms) };
});

describeClockCompliance('virtual clock scope', () => {
  const clock = createVirtualClock();
  const scope = clock.scope('node');
  return { clock: scope.clock, advance: (ms) => void clock.advance(ms), dispose: () => scope.dispose() };
});

describeStorageCompliance('memory storage', () => {
  const storage = createMemoryStorage();
  return { storage, reopen: () => storage };
});

describeRoutesCompliance('memory routes', () => {
  const routes = createMemoryRoutes();
  return {
    routes,
    read: () => routes.list(),
    via: 'fe80::1',
    dev: 'eth0',
    via4: '192.0.2.1',
    src4: '192.0.2.7',
    src6: 'fd70::7',
  };
});

describeRulesCompliance('memory rules', () => {
  const rules = createMemoryRules();
  return { rules, read: () => rules.list() };
});

// The daemon's real-time clock runs the clock suite in apps/bmx7d (src/clock.test.ts).
