/**
 * Interface tracking through rtnetlink: the configured BMX interfaces as the kernel sees them
 * (present, up with carrier, with a usable link-local address), re-read from link and address
 * dumps every `intervalMs`, so interfaces that appear later, go down or come back are noticed.
 */
import type { InterfaceInfo } from '@bmx7/core';
import {
  type AddrMsg,
  AF_INET6,
  IFA_F_DADFAILED,
  IFA_F_TENTATIVE,
  IFF_UP,
  type LinkMsg,
  type NetlinkClient,
  RT_SCOPE_LINK,
  rtnlGetAddrs,
  rtnlGetLinks,
} from '@bmx7/netlink';

/** IFF_RUNNING: operationally up (carrier). */
export const IFF_RUNNING = 0x40;

export interface KernelView {
  links: LinkMsg[];
  addrs: AddrMsg[];
}

export function readKernelView(nl: NetlinkClient): KernelView {
  return { links: rtnlGetLinks(nl), addrs: rtnlGetAddrs(nl, AF_INET6) };
}

/** What the engine should know of interface `name` in a kernel view. */
export function interfaceInfo(
  view: KernelView,
  name: string,
  extra: { rateMax: bigint; channel: number },
): InterfaceInfo | undefined {
  const link = view.links.find((l) => l.name === name);
  if (!link) return undefined;
  const ll = view.addrs.find(
    (a) =>
      a.index === link.index &&
      a.scope === RT_SCOPE_LINK &&
      a.address.startsWith('fe8') &&
      (a.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) === 0,
  );
  const up = (link.flags & IFF_UP) !== 0 && (link.flags & IFF_RUNNING) !== 0 && ll !== undefined;
  return {
    name,
    ifindex: link.index,
    linkLocal: ll?.address ?? '',
    up,
    rateMax: extra.rateMax,
    channel: extra.channel,
  };
}

/** Whether interface `index` has `address` in a view. */
export function hasAddress(view: KernelView, index: number, address: string): boolean {
  return view.addrs.some((a) => a.index === index && a.address === address);
}

/** A stable key for comparing interface states. */
export function infoKey(i: InterfaceInfo | undefined): string {
  return i === undefined ? '-' : `${i.ifindex}|${i.linkLocal}|${i.up}|${i.rateMax}|${i.channel}`;
}
