/**
 * Writing man(7) pages: text made safe for roff, font changes, macro lines, and a page from its
 * header and body. bmx7d(8) and bmx7ctl(8) are generated from the option table and the command
 * registry with these, so the pages say what the code does.
 *
 * Text never starts a line with a control character (`.` or `'`), backslashes are printed as
 * backslashes, `-` is the minus sign `\-` (options stay copyable), and characters outside ASCII
 * are written as `\[uXXXX]`, so groff reads the page the same in any input encoding.
 */

/** Text escaped for roff (not yet a line: see `roffTextLine`). Line breaks become spaces. */
export function roffEscape(text: string): string {
  let out = '';
  for (const ch of text.replace(/\s*\n\s*/g, ' ')) {
    const code = ch.codePointAt(0) as number;
    if (ch === '\\') out += '\\e';
    else if (ch === '-') out += '\\-';
    else if (code > 0x7e || (code < 0x20 && ch !== '\t')) {
      out += `\\[u${code.toString(16).toUpperCase().padStart(4, '0')}]`;
    } else out += ch;
  }
  return out;
}

/** Bold text (commands, option names, literal values). */
export function roffBold(text: string): string {
  return `\\fB${roffEscape(text)}\\fR`;
}

/** Italic text (placeholders: FILE, VAL). */
export function roffItalic(text: string): string {
  return `\\fI${roffEscape(text)}\\fR`;
}

/**
 * A text line from already escaped text: guarded with `\&` where it would start with a control
 * character or a space, which roff would read as a request or a break.
 */
export function roffTextLine(escaped: string): string {
  const t = escaped.trim();
  return /^[.' ]/.test(t) ? `\\&${t}` : t;
}

/** Plain text as a text line: escaped and guarded. */
export function roffText(text: string): string {
  return roffTextLine(roffEscape(text));
}

/** A line of a `.nf` block: escaped, its indentation kept. */
export function roffLiteral(text: string): string {
  return `\\&${roffEscape(text)}`;
}

/** Prose as a sentence: the first letter in capitals, a full stop at the end when it has none. */
export function roffSentence(text: string): string {
  const t = text.trim();
  const s = /^[a-z]/.test(t) ? t.charAt(0).toUpperCase() + t.slice(1) : t;
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/**
 * A macro line: `.TP`, `.SH "SEE ALSO"`. Arguments are already escaped; one with a space is quoted
 * (a `"` inside it written as `\(dq`).
 */
export function roffMacro(name: string, ...args: readonly string[]): string {
  const quoted = args.map((a) => (/[\s"]/.test(a) || a.length === 0 ? `"${a.replace(/"/g, '\\(dq')}"` : a));
  return [`.${name}`, ...quoted].join(' ');
}

export interface ManPageHeader {
  /** The command: `bmx7d`, written in capitals in the header as man pages do. */
  readonly name: string;
  readonly section: number | string;
  /** YYYY-MM-DD. */
  readonly date: string;
  /** What the page belongs to: `bmx7d 0.1.0`. */
  readonly source: string;
  /** The manual: `System Manager's Manual`. */
  readonly manual: string;
}

/**
 * A whole page: the `.TH` header, no hyphenation or justification (option names stay whole and
 * searchable), then the body's lines (macro and text lines as the functions above make them).
 */
export function roffPage(header: ManPageHeader, body: readonly string[]): string {
  const head = [
    `.\\" Generated from the option table and command registry (tools/man.mjs); do not edit.`,
    roffMacro(
      'TH',
      roffEscape(header.name.toUpperCase()),
      String(header.section),
      roffEscape(header.date),
      roffEscape(header.source),
      roffEscape(header.manual),
    ),
    '.nh',
    '.ad l',
  ];
  return `${[...head, ...body].join('\n')}\n`;
}
