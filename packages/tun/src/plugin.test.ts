/**
 * The settings the tun plugin takes: the reference's options it carries out are accepted, the ones
 * it does not carry out are refused naming the option (never accepted and ignored).
 */
import type { PluginChildValues, PluginSetting, PluginSettings } from '@bmx7/core';
import { describe, expect, it } from 'vitest';
import { checkTunSettings } from './plugin.js';

const single = (value: string | number): PluginSetting => ({ kind: 'single', value, children: {} });
const multi = (name: string, children: PluginChildValues): PluginSetting => ({
  kind: 'multi',
  instances: new Map([[name, children]]),
});
const check = (entries: [string, PluginSetting][]) => checkTunSettings(new Map(entries) as PluginSettings);

describe('tun settings', () => {
  it('takes what the plugin carries out', () => {
    expect(check([])).toBeUndefined();
    expect(
      check([
        ['tunDev', multi('dflt', { tun6Address: 'fdaa:1::1/64', tun4Address: '10.1.0.1/24' })],
        ['tunIn', multi('up6', { network: '2001:db8::/32', bandwidth: '100M' })],
        [
          'tunOut',
          multi('v6', { network: '2001:db8::/32', hysteresis: 30, ipMetric: 2000, tableRule: '30000/60' }),
        ],
        ['tunOutTimeout', single(60000)],
        ['tunRealSrc', single(1)],
        ['tunMtu', single(1400)],
      ]),
    ).toBeUndefined();
  });

  it("refuses the reference's catch-all timers, route export, setProto and srcNet, naming them", () => {
    const cases: [[string, PluginSetting][], RegExp][] = [
      [[['tunOutTimeout', single(1000)]], /^tunOutTimeout: only the default 60000/],
      [[['tunCatchDelay', single(50)]], /^tunCatchDelay: /],
      [[['proactiveTunRoutes', single(0)]], /^proactiveTunRoutes: only 1/],
      [
        [['tunOut', multi('x', { network: '10.0.0.0/8', exportDistance: 1 })]],
        /^tunOut=x \/exportOnly \/exportDistance/,
      ],
      [[['tunOut', multi('x', { network: '10.0.0.0/8', setProto: 4 })]], /^tunOut=x \/setProto/],
      [[['tunOut', multi('x', { network: '10.0.0.0/8', srcNet: '10.9.0.0/16' })]], /^tunOut=x \/srcNet/],
    ];
    for (const [entries, why] of cases) expect(check(entries)).toMatch(why);
  });

  it('reports what the parser refuses', () => {
    expect(check([['tunOut', multi('x', { network: '10.0.0.1/8' })]])).toMatch(/tunOut/);
  });
});
