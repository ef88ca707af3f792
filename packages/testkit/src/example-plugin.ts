/**
 * A small example plugin that uses the whole plugin API, for tests and as a template: each node
 * announces a greeting in description TLV type 30 (free for extensions, docs/protocol.md §4.13),
 * shows the greetings of every other node with their path (`show=greetings`), takes its text from
 * the `greeting` option at runtime, counts node events, and counts its starts in a private file.
 */
import type { EnginePlugin, PluginHost, PluginOption } from '@bmx7/core';

export const GREETING_TLV = 30;

/** `greeting=TEXT`: what this node announces. */
export const GREETER_OPTIONS: readonly PluginOption[] = [
  { name: 'greeting', type: { kind: 'string', maxLength: 64 }, help: 'the text this node announces' },
];

export interface GreeterInit {
  /** The text announced until the `greeting` option says otherwise. */
  greeting: string;
}

export interface Greeter extends EnginePlugin {
  /** Greetings heard, by node id. */
  readonly heard: ReadonlyMap<string, string>;
  /** Events seen, by type. */
  readonly events: ReadonlyMap<string, number>;
  /** How often this node's plugin started, from its private file. */
  starts(): number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function createGreeter(init: GreeterInit): Greeter {
  let host: PluginHost | undefined;
  let greeting = init.greeting;
  const heard = new Map<string, string>();
  const events = new Map<string, number>();
  const starts = () => {
    const b = host?.files.read('starts');
    return b ? Number(dec.decode(b)) : 0;
  };
  return {
    name: 'greeter',
    options: GREETER_OPTIONS,
    heard,
    events,
    starts,
    attach(h) {
      host = h;
      h.registerTlv(GREETING_TLV, {
        produce: () => enc.encode(greeting),
        consume(node, body) {
          if (body) heard.set(node.id, dec.decode(body));
          else heard.delete(node.id);
        },
      });
      for (const [id, body] of h.tlvs(GREETING_TLV)) heard.set(id, dec.decode(body));
      h.on((e) => events.set(e.type, (events.get(e.type) ?? 0) + 1));
      h.registerTable('greetings', () =>
        [...heard].map(([id, text]) => {
          const n = h.node(id);
          return { name: n?.name ?? '', greeting: text, hops: n?.hops ?? 0, metric: n?.metric ?? 0 };
        }),
      );
    },
    start() {
      host?.files.write('starts', enc.encode(String(starts() + 1)));
      host?.log(3, 'greeter started', { greeting });
    },
    reconfigure(next) {
      const g = next.get('greeting');
      const value = g?.kind === 'single' ? String(g.value) : init.greeting;
      if (value === greeting) return;
      greeting = value;
      host?.updateDescription();
    },
  };
}
