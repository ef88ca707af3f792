/**
 * bmx7d's composition root: key, runtime directory, kernel state, the engine with its Linux
 * adapters, interface tracking, the control socket and the signals. Lifecycle (as BIRD's):
 * DOWN → START (lock, clean up a crashed run's leftovers, sysctls, rule) → UP (engine running,
 * control socket open) → STOP (engine withdraws its routes, every change is undone, socket and
 * pid file removed).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type ConfigState, type Operation, OptionError, type Outcome } from '@bmx7/control';
import { createEngine, type Engine, type InterfaceInfo } from '@bmx7/core';
import { generateRsaKey, loadNodeKey, type RsaPrivateKey, saveNodeKey } from '@bmx7/crypto';
import {
  createNetlinkClient,
  NETLINK_ROUTE,
  openNetlinkSocket,
  RTMGRP_IPV6_IFADDR,
  RTMGRP_LINK,
  rtnlGetLinks,
  watchRtnl,
} from '@bmx7/netlink';
import type { TunComponents } from '@bmx7/plugin-tun';
import { DEFAULT_PQ_PSK_PORT, type WgPlugin } from '@bmx7/plugin-wg';
import { createLinuxClock } from './clock.js';
import { createDaemonBackend } from './control-backend.js';
import { type ControlServer, startControlServer } from './control-server.js';
import { createLinuxDatagrams } from './linux/datagrams.js';
import { createFilesPort } from './linux/files.js';
import { hasAddress, infoKey, interfaceInfo, readKernelView } from './linux/interfaces.js';
import { openJournal } from './linux/journal.js';
import { createKernel, undoEntry } from './linux/kernel.js';
import { createPqSocket } from './linux/pq-socket.js';
import { chooseTunnelBackend, createTunnelSystem } from './linux/tunnels.js';
import { createDaemonWgctrl, removeStaleSocket } from './linux/wireguard.js';
import { createDaemonLogger, type DaemonLogger } from './log.js';
import { createObserver, type DeviceStats, type ObserveSources, takeSnapshot } from './observe/index.js';
import { absentOptionTable, type DaemonSettings, type StartArgs, settingsOf, stateFrom } from './options.js';
import {
  checkPluginSettings,
  configurePlugins,
  type DaemonPlugin,
  type DaemonPluginInstance,
  type DaemonServices,
} from './plugins.js';
import { DaemonError, lockRuntimeDir } from './runtime-dir.js';
import type { HostFacts } from './tables.js';
import { setTrustedNodeOp } from './trust-dir.js';
import { type TrustWatcher, watchTrustDir } from './trust-watch.js';
import { daemonRevision, VERSION } from './version.js';

export { VERSION };
/** How often links and addresses are re-read in full, notifications or not. */
export const INTERFACE_RESYNC_MS = 5000;

export interface RunningDaemon {
  engine: Engine;
  settings(): DaemonSettings;
  /** Resolves with the exit status once the daemon has stopped. */
  done: Promise<number>;
  stop(reason: string): Promise<void>;
}

function openKey(s: DaemonSettings, logger: DaemonLogger): RsaPrivateKey {
  try {
    return loadNodeKey(s.keyPath);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_KEY_FILE' || !/ENOENT/.test(String((e as Error).message))) {
      throw new DaemonError('ERR_KEY', `nodeRsaKey /keyPath=${s.keyPath}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  logger.log(0, 'generating node key', { type: s.keyType, keyPath: s.keyPath });
  mkdirSync(dirname(s.keyPath), { recursive: true, mode: 0o700 });
  const key = generateRsaKey(s.keyType);
  saveNodeKey(s.keyPath, key);
  return key;
}

export async function startDaemon(
  start: StartArgs,
  first: DaemonSettings,
  plugins: readonly DaemonPlugin[] = [],
): Promise<RunningDaemon> {
  let settings = first;
  let state: ConfigState = start.state;
  const table = start.table;
  const logger = createDaemonLogger(settings.debug);
  const rd = lockRuntimeDir(settings.runtimeDir);
  let nl: ReturnType<typeof createNetlinkClient> | undefined;
  let trust: TrustWatcher | undefined;
  // metrics and the status page (observe/): listening before anything on the system changes, so
  // an address that cannot be used stops the start; they answer 503 until the engine runs
  let observed: ObserveSources | undefined;
  const observer = createObserver({
    snapshot: () => (observed ? takeSnapshot(observed) : undefined),
    now: () => performance.now(),
    onError: (err) => logger.log(4, 'observe: request failed', { error: err.message }),
  });
  const listening = (): void => {
    for (const l of observer.listeners())
      logger.log(0, 'observe: listening', {
        url: `http://${l.listen.text}/`,
        serves: [l.serves.metrics && 'metrics', l.serves.page && 'status page'].filter(Boolean).join(', '),
      });
  };
  try {
    await observer.apply(settings.metricsListen, settings.httpListen);
    listening();
    const key = openKey(settings, logger);
    logger.log(0, 'node key', {
      shortId: Buffer.from(key.id.subarray(0, 4)).toString('hex').toUpperCase(),
      type: key.type,
    });
    nl = createNetlinkClient(openNetlinkSocket(NETLINK_ROUTE));
    const netlink = nl;
    const journal = openJournal(rd.journalPath);
    if (journal.leftovers.length > 0) {
      logger.log(0, 'removing leftovers of the last run', { entries: journal.leftovers.length });
      for (const e of [...journal.leftovers].reverse()) {
        undoEntry(netlink, e, logger);
        // a wireguard-go of the last run: its socket goes too (it ends wireguard-go if still running)
        if (e.kind === 'link') removeStaleSocket(e.name);
      }
      journal.remove(() => true);
    }
    let view = readKernelView(netlink);
    const kernel = createKernel({
      nl: netlink,
      journal,
      logger,
      table: settings.table,
      rulePref: settings.rulePref,
      policyRouting: settings.policyRouting,
      ifindex: (name) => view.links.find((l) => l.name === name)?.index,
    });
    if (settings.autoSysctl) {
      kernel.sysctl('net/ipv6/conf/all/forwarding', '1');
      kernel.sysctl('net/ipv4/ip_forward', '1');
    }
    kernel.ensureRule();

    // ---------------------------------------------------------------- trust
    // the trusted-nodes directory, read before the engine starts (its first description carries
    // the list) and followed while it runs (docs/protocol.md §4.11)
    const ownId = Buffer.from(key.id).toString('hex').toUpperCase();
    const clock = createLinuxClock();
    const setTrustedNode = (op: Operation): Outcome => {
      const r = setTrustedNodeOp(op, { ownId, configuredDir: settings.trustedNodesDir });
      if (!r.ok) {
        logger.log(0, 'setTrustedNode refused', { id: String(op.value ?? ''), error: r.message });
        return r;
      }
      for (const x of r.result.removed)
        logger.log(0, `removing ${x.reason} trust file`, { dir: r.dir, file: x.fileName, reason: x.detail });
      logger.log(0, 'setTrustedNode', {
        id: String(op.value).slice(0, 8).toUpperCase(),
        action: r.result.action,
        dir: r.dir,
        ...(r.result.fileName === undefined ? {} : { file: r.result.fileName }),
      });
      return { ok: true };
    };
    for (const op of start.actions) {
      if (op.option !== 'setTrustedNode') continue;
      const r = setTrustedNode(op);
      if (!r.ok) throw new DaemonError('ERR_SYSTEM', `setTrustedNode: ${r.message}`);
    }
    let engine: Engine | undefined;
    const openTrust = (dir: string): TrustWatcher =>
      watchTrustDir({
        dir,
        clock,
        log: (level, msg, fields) => logger.log(level, msg, fields),
        onChange: (nodes) => engine?.reconfigure({ trustedNodes: nodes }),
      });
    trust = settings.trustedNodesDir === undefined ? undefined : openTrust(settings.trustedNodesDir);
    if (trust)
      logger.log(0, 'trustedNodesDir', { dir: trust.dir, nodes: trust.nodes().length, mode: trust.mode() });

    const datagrams = createLinuxDatagrams(
      (ifname, src, payload) => engine?.receive(ifname, src, payload),
      (ifname, err) => logger.log(4, 'socket error', { dev: ifname, error: err.message }),
    );
    const storage = {
      loadDescSqn(): number | undefined {
        try {
          const n = Number.parseInt(readFileSync(settings.descSqnPath, 'utf8'), 10);
          return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
        } catch {
          return undefined;
        }
      },
      saveDescSqn(v: number): void {
        try {
          mkdirSync(dirname(settings.descSqnPath), { recursive: true, mode: 0o700 });
          writeFileSync(settings.descSqnPath, String(v));
        } catch (e) {
          logger.log(0, 'cannot write descSqnPath', { path: settings.descSqnPath, error: String(e) });
        }
      },
    };
    engine = createEngine({ nodeKey: key, ...settings.engine, trustedNodes: trust?.nodes() })({
      clock: createLinuxClock(),
      random: { bytes: (n) => new Uint8Array(randomBytes(n)), float: () => Math.random() },
      datagrams,
      routes: kernel.routes,
      storage,
      logger,
      // plugins keep their private files (keys) beside the node key, and set policy rules
      files: createFilesPort(dirname(settings.keyPath)),
      rules: kernel.rules,
    });
    const eng = engine;
    // the tunnel data plane, made when the tun plugin first needs it
    let tun: TunComponents | undefined;
    const made = new Map<string, DaemonPluginInstance>();
    const onDevice = (name: string) => {
      view = readKernelView(netlink);
      kernel.resync(name);
    };
    const services: DaemonServices = {
      plugin: (name) => made.get(name),
      pqTransport: () => createPqSocket(DEFAULT_PQ_PSK_PORT, logger),
      wgctrl: () =>
        createDaemonWgctrl({
          state,
          journal,
          logger,
          onDevice,
          onRestart: async (name) => {
            await (made.get('wg') as WgPlugin | undefined)?.restarted(name);
          },
        }),
      tun() {
        tun ??= createTunnelSystem({
          nl: netlink,
          journal,
          logger,
          kernel,
          backend: chooseTunnelBackend(state, logger),
          onDevice,
        });
        return tun;
      },
    };
    const instances = plugins.map((p) => {
      const i = p.create(services);
      made.set(p.name, i);
      return i;
    });
    for (const p of instances) {
      try {
        eng.use(p);
      } catch (e) {
        throw new DaemonError('ERR_PLUGIN', (e as Error).message, { cause: e });
      }
    }
    let pluginState = configurePlugins(eng, state, plugins);
    observed = {
      engine: eng,
      version: VERSION,
      revision: daemonRevision(),
      deviceStats: () =>
        new Map(
          rtnlGetLinks(netlink).flatMap((l): [string, DeviceStats][] =>
            l.name !== undefined && l.stats ? [[l.name, l.stats]] : [],
          ),
        ),
    };
    logger.log(0, 'bmx7d starting', {
      version: VERSION,
      shortId: eng.shortId,
      primaryIp: eng.primaryIp,
      runtimeDir: settings.runtimeDir,
      devs: settings.devs.map((d) => d.name).join(','),
    });
    // node and route events reach stderr and every log subscriber at level 3 ("changes")
    // (a path's metric changes often: only at level 4)
    eng.on((e) => {
      if (e.type === 'node-gone') logger.log(3, 'node gone', { id: e.id.slice(0, 8).toUpperCase() });
      else if (e.type === 'trust-changed') logger.log(3, 'trust changed');
      else if (e.type === 'path-changed')
        logger.log(4, 'path changed', { name: e.node.name, metric: e.node.metric, hops: e.node.hops });
      else
        logger.log(3, e.type.replace('-', ' '), {
          name: e.node.name,
          shortId: e.node.shortId,
          descSqn: e.node.descSqn,
          ...(e.node.via ? { via: e.node.via.address, dev: e.node.via.dev, hops: e.node.hops } : {}),
        });
    });
    eng.start();

    // ---------------------------------------------------------------- interfaces
    const states = new Map<string, InterfaceInfo | undefined>();
    let syncing = false;
    let syncAgain = false;
    /**
     * Re-reads links and addresses and brings the engine's interfaces up to date. Asked while it
     * runs (a notification during its await), it runs once more afterwards: a burst of changes
     * costs at most two re-reads, and none is missed.
     */
    const syncInterfaces = async (): Promise<void> => {
      if (syncing) {
        syncAgain = true;
        return;
      }
      syncing = true;
      try {
        do {
          syncAgain = false;
          await syncOnce();
        } while (syncAgain);
      } finally {
        syncing = false;
      }
    };
    const syncOnce = async (): Promise<void> => {
      try {
        view = readKernelView(netlink);
        let changed = false;
        const wanted = new Set(settings.devs.map((d) => d.name));
        for (const name of [...states.keys()]) {
          if (wanted.has(name)) continue;
          states.delete(name);
          datagrams.close(name);
          kernel.removePrimary(name);
          logger.log(0, 'interface removed', { dev: name });
          changed = true;
        }
        for (const d of settings.devs) {
          const info = interfaceInfo(view, d.name, d);
          const before = states.get(d.name);
          if (info?.up)
            kernel.addPrimary(d.name, eng.primaryIp, hasAddress(view, info.ifindex, eng.primaryIp));
          if (infoKey(info) === infoKey(before) && states.has(d.name)) continue;
          states.set(d.name, info);
          changed = true;
          if (info?.up) {
            try {
              await datagrams.open(d.name, info.linkLocal);
              kernel.resync(d.name);
              logger.log(0, 'interface up', {
                dev: d.name,
                linkLocal: info.linkLocal,
                ifindex: info.ifindex,
              });
            } catch (err) {
              logger.log(0, 'cannot open interface', { dev: d.name, error: String(err) });
              states.set(d.name, { ...info, up: false });
            }
          } else {
            datagrams.close(d.name);
            logger.log(0, info ? 'interface down' : 'interface missing', { dev: d.name });
          }
        }
        if (changed)
          eng.setInterfaces([...states.values()].filter((i): i is InterfaceInfo => i?.up === true));
      } catch (err) {
        logger.log(0, 'interface sync failed', { error: String(err) });
      }
    };
    // link and address notifications wake the daemon (a reader thread waits for them, the event
    // loop never does) and trigger a re-read at once; a full re-read every few seconds catches
    // anything a lost notification would hide
    const monitor = watchRtnl(RTMGRP_LINK | RTMGRP_IPV6_IFADDR, () => void syncInterfaces(), {
      onError: (err) =>
        logger.log(0, 'interface notifications stopped', {
          error: err.message,
          resyncMs: INTERFACE_RESYNC_MS,
        }),
    });
    await syncInterfaces();
    let cancelResync = (): void => {};
    const resync = (): void => {
      cancelResync = clock.schedule(INTERFACE_RESYNC_MS, () => {
        void syncInterfaces();
        resync();
      });
    };
    resync();

    // ---------------------------------------------------------------- control
    const startedCpu = process.cpuUsage();
    const startedAt = performance.now();
    const host: HostFacts = {
      revision: daemonRevision(),
      get devs() {
        return settings.devs.map((d) => ({ ...d, up: states.get(d.name)?.up === true }));
      },
      cpuPercent() {
        const u = process.cpuUsage(startedCpu);
        const wall = (performance.now() - startedAt) * 1000;
        return wall > 0 ? ((u.user + u.system) / wall) * 100 : 0;
      },
      memKb: () => Math.round(process.memoryUsage().rss / 1024),
    };

    /** Checks a configuration state whole: the settings it gives, or an OptionError naming the option. */
    const derive = (next: ConfigState): DaemonSettings => {
      const ns = settingsOf(next, { hostname: osHostname() });
      checkPluginSettings(next, plugins);
      for (const k of [
        'runtimeDir',
        'keyPath',
        'keyType',
        'descSqnPath',
        'table',
        'rulePref',
        'policyRouting',
        'autoSysctl',
      ] as const) {
        if (ns[k] !== settings[k])
          throw new OptionError('init-only', `${k}: can only be set at start`, { option: k });
      }
      return ns;
    };
    /** Adopts a new configuration state: checks it whole, then applies the differences. */
    const adopt = (next: ConfigState): void => {
      const ns = derive(next);
      state = next;
      const old = settings;
      settings = ns;
      logger.level = ns.debug;
      const text = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
      // trust on, off, or another directory: a new watcher and list (the reference re-reads at once)
      const dirChanged = ns.trustedNodesDir !== old.trustedNodesDir;
      if (dirChanged) {
        trust?.close();
        trust = ns.trustedNodesDir === undefined ? undefined : openTrust(ns.trustedNodesDir);
        logger.log(0, 'trustedNodesDir', {
          dir: trust?.dir ?? '-',
          ...(trust ? { nodes: trust.nodes().length, mode: trust.mode() } : {}),
        });
      }
      if (dirChanged || text(old.engine) !== text(ns.engine))
        eng.reconfigure({ ...ns.engine, trustedNodes: trust?.nodes() });
      pluginState = configurePlugins(eng, next, plugins, pluginState);
      // a set is answered before a new listener can be opened (listening is asynchronous), so an
      // address that cannot be used is logged, and the old listener keeps serving (observe/index.ts)
      if (ns.metricsListen?.text !== old.metricsListen?.text || ns.httpListen?.text !== old.httpListen?.text)
        observer
          .apply(ns.metricsListen, ns.httpListen)
          .then(listening, (e: Error) => logger.log(0, 'observe: not listening', { error: e.message }));
      void syncInterfaces();
    };

    // one implementation of the control protocol: @bmx7/control's session over this backend
    const backend = createDaemonBackend({
      engine: eng,
      options: table,
      absent: absentOptionTable(table),
      host,
      logger,
      version: `bmx7d-${VERSION}`,
      revision: host.revision,
      config: () => state,
      check: (next) => void derive(next),
      adopt,
      compatibility: () => settings.engine.compatibility ?? 21,
      setTrustedNode,
      plugin: (name) => made.get(name),
      metric: () => settings.engine.metric,
    });
    const server: ControlServer = await startControlServer({
      path: rd.socketPath,
      backend,
      serverVersion: VERSION,
      onSocketError: (err) => logger.log(4, 'control connection error', { error: err.message }),
    });
    // log subscribers get the daemon's lines, up to the highest level any of them asked for
    const unsubscribeLog = logger.subscribe(
      () => server.logLevel(),
      (level, line) => server.log(level, line, Math.round(performance.now() - startedAt)),
    );
    logger.log(0, 'control socket open', { path: rd.socketPath });

    // ---------------------------------------------------------------- stop
    let resolveDone: (code: number) => void = () => {};
    const done = new Promise<number>((r) => {
      resolveDone = r;
    });
    let stopping = false;
    const stop = async (reason: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      logger.log(0, 'bmx7d stopping', { reason });
      cancelResync();
      trust?.close();
      await monitor.close();
      eng.stop();
      // the plugins' devices go before the kernel state is put back (routes into them went with eng.stop)
      for (const p of instances) {
        try {
          await p.close?.();
        } catch (e) {
          logger.log(0, 'plugin close failed', { plugin: p.name, error: String(e) });
        }
      }
      datagrams.closeAll();
      kernel.restoreAll();
      unsubscribeLog();
      await observer.close();
      await server.close();
      netlink.close();
      rd.release();
      logger.log(0, 'bmx7d stopped: routes, rule, addresses and sysctls restored');
      resolveDone(0);
    };
    const onSignal = (sig: NodeJS.Signals) => void stop(sig);
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    process.on('SIGHUP', () => {
      if (start.configFile === undefined) logger.log(0, 'SIGHUP: no config file to reload');
      else {
        try {
          adopt(stateFrom(start.argvOps, start.configFile, undefined, table));
          logger.log(0, 'SIGHUP: config reloaded', { file: start.configFile });
        } catch (e) {
          logger.log(0, 'SIGHUP: config not reloaded', { error: (e as Error).message });
        }
      }
      // and the trusted-nodes directory, read again in full
      if (trust) {
        trust.rescan();
        logger.log(0, 'SIGHUP: trustedNodesDir read', { dir: trust.dir, nodes: trust.nodes().length });
      }
    });
    return { engine: eng, settings: () => settings, done, stop };
  } catch (err) {
    await observer.close();
    trust?.close();
    nl?.close();
    rd.release();
    throw err;
  }
}
