// CSV round trip with DuckDB, the peer for the engine-foundation benchmark (bench/foundation.sh).
//   node bench/duckdb_roundtrip.mjs IN.csv OUT.csv [THREADS] [--ns|--sniff]
// Default (--ns): TIMESTAMP is read as TIMESTAMP_NS and written back at nanosecond precision,
// PRICE as DOUBLE, SIZE as BIGINT, other columns sniffed — the same work tickflow does.
// --sniff: DuckDB's own type detection (TIMESTAMP then has microsecond precision: the output
// loses the last three digits, so it is faster but not the same result).
import { DuckDBInstance } from '@duckdb/node-api';

const args = process.argv.slice(2);
const mode = args.find((a) => a.startsWith('--')) ?? '--ns';
const [input, output, threads] = args.filter((a) => !a.startsWith('--'));
if (!input || !output) {
  console.error('usage: duckdb_roundtrip.mjs IN.csv OUT.csv [THREADS] [--ns|--sniff]');
  process.exit(2);
}
const quote = (s) => `'${s.replaceAll("'", "''")}'`;

const options = threads ? { threads: String(threads) } : {};
const instance = await DuckDBInstance.create(':memory:', options);
const connection = await instance.connect();

let source;
if (mode === '--sniff') {
  source = `read_csv(${quote(input)})`;
} else if (mode === '--ns') {
  source = `read_csv(${quote(input)}, types = {'TIMESTAMP': 'TIMESTAMP_NS', 'PRICE': 'DOUBLE', 'SIZE': 'BIGINT'})`;
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
// COPY's TIMESTAMPFORMAT does not apply to TIMESTAMP_NS columns (DuckDB 1.5), so the
// nanosecond column is formatted with strftime; %n is the 9-digit nanosecond fraction.
const select =
  mode === '--ns'
    ? `SELECT strftime("TIMESTAMP", '%Y-%m-%d %H:%M:%S.%n') AS "TIMESTAMP", * EXCLUDE ("TIMESTAMP") FROM ${source}`
    : `SELECT * FROM ${source}`;
await connection.run(`COPY (${select}) TO ${quote(output)} (HEADER, DELIMITER ',')`);
connection.closeSync();
