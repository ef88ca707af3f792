/**
 * The texts of `bmx7ctl dump` and its `--verify` option, apart from the code: bmx7ctl lists and
 * explains its commands without loading the dissector and the verifier (and with them the codec
 * and the crypto libraries), which only `dump` itself needs.
 */
export const DUMP_SUMMARY = 'dissect the BMX7 packets of a pcap/pcapng capture (--json, --roundtrip)';

export const DUMP_USAGE = `usage: bmx7ctl dump FILE [--json] [--roundtrip] [--port=N]
  Dissects the BMX7 packets (UDP port 6270 over IPv6) of a pcap/pcapng capture (FILE - reads stdin).
  --json       one JSON object per packet
  --roundtrip  re-encode every packet and report the first differing byte
  --port=N     BMX7 on another UDP port
exit 0 when every BMX7 packet decoded (and round-tripped), 1 otherwise, 2 on usage errors`;

const VERIFY_USAGE = `  --verify     also check every node id, description signature, RSA packet signature and
               OGM chain value whose key is in the capture; prints a summary (verified /
               failed / unverifiable per check) and exits 1 naming the first failure`;

export const DUMP_VERIFY_SUMMARY =
  'dissect (and with --verify check the signatures of) the BMX7 packets of a capture';

export const DUMP_VERIFY_USAGE = DUMP_USAGE.replace(/^(usage: [^\n]*)/, '$1 [--verify]').replace(
  /\nexit /,
  `\n${VERIFY_USAGE}\nexit `,
);
