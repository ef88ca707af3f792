/**
 * The option list for `help` (`-h`) and `verboseHelp` (`-H`), laid out as the reference lays it
 * out: a header per module, `--name, -x <form>` padded to 40 columns, then the default and range;
 * children indented as `/child`. `/r=0` lists every option, the default only the relevant ones.
 */
import { describeType, type OptionTable, type OptionValueType, type Relevance } from './options.js';

export interface HelpOptions {
  readonly verbose?: boolean;
  /** 2 (default) the most relevant options, 1 more, 0 all. */
  readonly relevance?: Relevance;
  /** The program name in the usage lines (default bmx7d). */
  readonly program?: string;
  /**
   * The program's own command-line options, outside the option table (bmx7d's `--config FILE`):
   * in the usage line and explained below it, one line each.
   */
  readonly programOptions?: readonly ProgramOption[];
}

/** A command-line option of the program itself: `--config FILE` and what it does. */
export interface ProgramOption {
  readonly synopsis: string;
  readonly text: string;
}

export function renderHelp(table: OptionTable, options: HelpOptions = {}): string {
  const relevance = options.relevance ?? 2;
  const prog = options.program ?? 'bmx7d';
  const own = options.programOptions ?? [];
  let out = '\n';
  out += `Usage: ${prog}${own.map((o) => ` [${o.synopsis}]`).join('')} [LONGOPT=[-]VAL] | -[SHORTOPT[SHORTOPT...] [-]VAL] ...\n`;
  for (const o of own) out += `  ${o.synopsis}: ${o.text}\n`;
  out += `  e.g. ${prog} dev=eth1 dev=wlan0 d=3\n`;
  out += `  e.g. bmx7ctl -c show=status show=interfaces show=links show=originators show=credits\n`;
  out += '  e.g. bmx7ctl -c dev=-wlan0 show=interfaces \n\n';
  let category: string | undefined;
  for (const spec of table.all()) {
    if (spec.relevance < relevance) continue;
    if (spec.category !== category) {
      category = spec.category;
      out += `\n\n${category} options  (order=${spec.order}):\n`;
    }
    const sn = spec.short === undefined ? '' : `, -${spec.short}`;
    out += `\n${`--${spec.name}${sn} ${describeType(spec.type)} `.padEnd(40)} ${defaults(spec.type, spec.default)}\n`;
    if (options.verbose === true) out += `\t${spec.help}\n`;
    for (const c of spec.children ?? []) {
      if ((c.relevance ?? 1) < relevance) continue;
      const csn = c.short === undefined ? '' : `, /${c.short}`;
      out += `${`  /${c.name}${csn} ${describeType(c.type)} `.padEnd(40)} ${defaults(c.type, c.default)}\n`;
      if (options.verbose === true) out += `\t        ${c.help}\n`;
    }
  }
  return `${out}\n`;
}

function defaults(type: OptionValueType, def: number | string | undefined): string {
  if (type.kind === 'int' && type.min !== type.max) {
    const d = typeof def === 'number' ? String(def) : '';
    return `def: ${d.padEnd(6)}  range: [ ${type.min} ${type.min + 1 === type.max ? ',' : '...'} ${type.max} ]`;
  }
  return def === undefined ? '' : `def: ${String(def)}`;
}
