// DuckDB on its own native table, the peer of the tick archive benchmark (bench/archive.py).
//   node bench/duckdb_archive.mjs load DB.duckdb TRADES.csv QUOTES.csv [THREADS]
//       creates DB.duckdb with tables trades and quotes (TIMESTAMP as TIMESTAMP_NS)
//   node bench/duckdb_archive.mjs query DB.duckdb W2|W3|W4|W5 OUT.csv [THREADS]
//       runs one workload on the native tables and writes its result as CSV
// Results are ordered as tickflow orders them (per symbol then time, or the stable sort), and
// times are written at nanosecond precision like tickflow's.
import { DuckDBInstance } from '@duckdb/node-api';
import { rmSync } from 'node:fs';
import { quote, QUOTE_TYPES, TRADE_TYPES, workloadSql } from './duckdb_workloads.mjs';

const [mode, dbPath, ...rest] = process.argv.slice(2);
const WORKLOADS = ['W2', 'W3', 'W4', 'W5'];
// rowid is the load order of a native table.
const tables = { trades: '(SELECT *, rowid AS rn FROM trades)', quotes: '(SELECT *, rowid AS rn FROM quotes)', bySymbol: true };

async function open(threads, readOnly) {
  const options = threads ? { threads: String(threads) } : {};
  if (readOnly) options.access_mode = 'READ_ONLY';
  const instance = await DuckDBInstance.create(dbPath, options);
  return instance.connect();
}

if (mode === 'load') {
  const [trades, quotes, threads] = rest;
  rmSync(dbPath, { force: true });
  rmSync(`${dbPath}.wal`, { force: true });
  const connection = await open(threads, false);
  await connection.run(`CREATE TABLE trades AS SELECT * FROM read_csv(${quote(trades)}, types = ${TRADE_TYPES})`);
  if (quotes) {
    await connection.run(`CREATE TABLE quotes AS SELECT * FROM read_csv(${quote(quotes)}, types = ${QUOTE_TYPES})`);
  }
  await connection.run('CHECKPOINT');
  connection.closeSync();
} else if (mode === 'query') {
  const [workload, output, threads] = rest;
  const sql = WORKLOADS.includes(workload) && workloadSql(workload, tables);
  if (!sql) {
    console.error(`unknown workload ${workload}; one of ${WORKLOADS.join(' ')}`);
    process.exit(2);
  }
  const connection = await open(threads, true);
  await connection.run(`COPY (${sql}) TO ${quote(output)} (HEADER, DELIMITER ',')`);
  connection.closeSync();
} else {
  console.error('usage: duckdb_archive.mjs load DB TRADES.csv QUOTES.csv [THREADS] | query DB W2|W3|W4|W5 OUT.csv [THREADS]');
  process.exit(2);
}
