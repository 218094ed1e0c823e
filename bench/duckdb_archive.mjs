// DuckDB on its own native table, the peer of the tick archive benchmark (bench/archive.py).
//   node bench/duckdb_archive.mjs load DB.duckdb TRADES.csv QUOTES.csv [THREADS]
//       creates DB.duckdb with tables trades and quotes (TIMESTAMP as TIMESTAMP_NS)
//   node bench/duckdb_archive.mjs query DB.duckdb W2|W3|W4|W5 OUT.csv [THREADS]
//       runs one workload on the native tables and writes its result as CSV
// Results are ordered as tickflow orders them (per symbol then time, or the stable sort), and
// times are written at nanosecond precision like tickflow's.
import { DuckDBInstance } from '@duckdb/node-api';
import { rmSync } from 'node:fs';

const [mode, dbPath, ...rest] = process.argv.slice(2);
const quote = (s) => `'${s.replaceAll("'", "''")}'`;
const ns = (column) => `strftime(${column}, '%Y-%m-%d %H:%M:%S.%n')`;

const WORKLOADS = {
  // Large trades with their notional, per symbol in time order.
  W2: `SELECT ${ns('TIMESTAMP')} AS TIMESTAMP, SYMBOL, PRICE, SIZE, EXCHANGE, PRICE * SIZE AS NOTIONAL
       FROM trades WHERE SIZE > 500 ORDER BY SYMBOL, trades.TIMESTAMP, trades.rowid`,
  // Each trade with the prevailing quote of its symbol (as-of, quote time <= trade time).
  W3: `SELECT ${ns('t.TIMESTAMP')} AS TIMESTAMP, t.SYMBOL, t.PRICE, t.SIZE, t.EXCHANGE,
              q.BID_PRICE, q.BID_SIZE, q.ASK_PRICE, q.ASK_SIZE
       FROM trades t ASOF LEFT JOIN quotes q ON t.SYMBOL = q.SYMBOL AND t.TIMESTAMP >= q.TIMESTAMP
       ORDER BY t.SYMBOL, t.TIMESTAMP, t.rowid`,
  // 1-minute OHLCV + VWAP bars per symbol, stamped with the bucket's end.
  W4: `SELECT ${ns('make_timestamp_ns((bucket + 1) * 60000000000)')} AS TIMESTAMP, SYMBOL,
              arg_min(PRICE, rid) AS OPEN, max(PRICE) AS HIGH, min(PRICE) AS LOW,
              arg_max(PRICE, rid) AS CLOSE, sum(SIZE) AS VOLUME,
              sum(PRICE * SIZE) / sum(SIZE) AS VWAP, count(*) AS TRADES
       FROM (SELECT *, rowid AS rid, epoch_ns(TIMESTAMP) // 60000000000 AS bucket FROM trades)
       GROUP BY SYMBOL, bucket ORDER BY SYMBOL, bucket`,
  // Every trade, stable sort by PRICE descending (ties in load order).
  W5: `SELECT ${ns('TIMESTAMP')} AS TIMESTAMP, SYMBOL, PRICE, SIZE, EXCHANGE
       FROM trades ORDER BY PRICE DESC, trades.rowid`,
};

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
  await connection.run(`CREATE TABLE trades AS SELECT * FROM read_csv(${quote(trades)},
      types = {'TIMESTAMP': 'TIMESTAMP_NS', 'SYMBOL': 'VARCHAR', 'PRICE': 'DOUBLE', 'SIZE': 'BIGINT', 'EXCHANGE': 'VARCHAR'})`);
  if (quotes) {
    await connection.run(`CREATE TABLE quotes AS SELECT * FROM read_csv(${quote(quotes)},
        types = {'TIMESTAMP': 'TIMESTAMP_NS', 'SYMBOL': 'VARCHAR', 'BID_PRICE': 'DOUBLE', 'BID_SIZE': 'BIGINT',
                 'ASK_PRICE': 'DOUBLE', 'ASK_SIZE': 'BIGINT'})`);
  }
  await connection.run('CHECKPOINT');
  connection.closeSync();
} else if (mode === 'query') {
  const [workload, output, threads] = rest;
  const sql = WORKLOADS[workload];
  if (!sql) {
    console.error(`unknown workload ${workload}; one of ${Object.keys(WORKLOADS).join(' ')}`);
    process.exit(2);
  }
  const connection = await open(threads, true);
  await connection.run(`COPY (${sql}) TO ${quote(output)} (HEADER, DELIMITER ',')`);
  connection.closeSync();
} else {
  console.error('usage: duckdb_archive.mjs load DB TRADES.csv QUOTES.csv [THREADS] | query DB W2|W3|W4|W5 OUT.csv [THREADS]');
  process.exit(2);
}
