/**
 * Exit statuses of bmx7ctl (and of bmx7d for configuration errors): a fixed contract that scripts
 * rely on, so a value never changes meaning.
 * A usage error is detected before anything on the system or in the daemon changes.
 */
export const EXIT_OK = 0;
/** The daemon answered with an error (it refused the request). */
export const EXIT_REFUSED = 1;
/** Bad command line, bad option or bad configuration file: nothing was applied. */
export const EXIT_USAGE = 2;
/** No daemon is listening on the control socket. */
export const EXIT_NO_DAEMON = 3;

/** Why an option (on the command line, in a config file or in a control request) was rejected. */
export type OptionErrorCode =
  | 'unknown-option'
  | 'unknown-child'
  | 'child-without-parent'
  | 'missing-value'
  | 'unexpected-value'
  | 'bad-value'
  | 'out-of-range'
  | 'order'
  | 'init-only'
  | 'runtime-only'
  | 'not-in-config'
  | 'remove-and-refine'
  | 'missing-child'
  | 'syntax';

/**
 * A rejected option. `option` names it as the reference spells it (or as the user typed it when
 * unknown); `message` is one line that names the option and the reason. The parsers return it in
 * a result (`{ ok: false, error }`); it is a class so the daemon can also throw it from a config
 * loader and keep a stable `code`.
 */
export class OptionError extends Error {
  override readonly name = 'OptionError';
  readonly code: OptionErrorCode;
  readonly option: string | undefined;
  /** 1-based line of a config file, when the option came from one. */
  readonly line: number | undefined;
  /** The exit status a command-line tool reports for this error. */
  readonly exitStatus = EXIT_USAGE;

  constructor(
    code: OptionErrorCode,
    message: string,
    init: { option?: string | undefined; line?: number | undefined; cause?: unknown } = {},
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = code;
    this.option = init.option;
    this.line = init.line;
  }
}
