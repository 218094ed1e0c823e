// DuckDB side of the peers benchmark (bench/peers.py): one workload end to end, read_csv in
// and COPY to CSV out, as tickflow runs it.
//   node bench/peers_duckdb.mjs W1 prices.csv OUT.csv THREADS
//   node bench/peers_duckdb.mjs W2|W4|W5 trades.csv OUT.csv THREADS
//   node bench/peers_duckdb.mjs W3 trades.csv quotes.csv OUT.csv THREADS
// TIMESTAMP is read as TIMESTAMP_NS and written with nine digits; rows keep the file's order
// (a row number taken at the scan, with insertion order preserved), as tickflow's do.
import { DuckDBInstance } from '@duckdb/node-api';

const [workload, ...rest] = process.argv.slice(2);
const threads = rest.pop();
const output = rest.pop();
const [first, second] = rest;
const quote = (s) => `'${s.replaceAll("'", "''")}'`;
const ns = (column) => `strftime(${column}, '%Y-%m-%d %H:%M:%S.%n')`;
const trades = (path) => `(SELECT *, row_number() OVER () AS rn FROM read_csv(${quote(path)},
    types = {'TIMESTAMP': 'TIMESTAMP_NS', 'SYMBOL': 'VARCHAR', 'PRICE': 'DOUBLE', 'SIZE': 'BIGINT', 'EXCHANGE': 'VARCHAR'}))`;
const quotes = (path) => `(SELECT *, row_number() OVER () AS rn FROM read_csv(${quote(path)},
    types = {'TIMESTAMP': 'TIMESTAMP_NS', 'SYMBOL': 'VARCHAR', 'BID_PRICE': 'DOUBLE', 'BID_SIZE': 'BIGINT',
             'ASK_PRICE': 'DOUBLE', 'ASK_SIZE': 'BIGINT'}))`;

const WINDOWS = [10, 100, 1000, 10000, 100000, 1000000];
const STATS = [['MEAN', 'avg'], ['VAR', 'var_samp'], ['MIN', 'min'], ['MAX', 'max']];

function sql() {
  switch (workload) {
    case 'W1': {
      const columns = WINDOWS.flatMap((w) =>
        STATS.map(([name, fn]) => `${fn}(PRICE) OVER (ORDER BY rn ROWS BETWEEN ${w - 1} PRECEDING AND CURRENT ROW) AS PRICE_${name}_${w}`));
      return `SELECT ${ns('TIMESTAMP')} AS TIMESTAMP, PRICE, ${columns.join(', ')}
              FROM (SELECT *, row_number() OVER () AS rn FROM read_csv(${quote(first)},
                    types = {'TIMESTAMP': 'TIMESTAMP_NS', 'PRICE': 'DOUBLE'}))
              ORDER BY rn`;
    }
    case 'W2':
      return `SELECT ${ns('TIMESTAMP')} AS TIMESTAMP, SYMBOL, PRICE, SIZE, EXCHANGE, PRICE * SIZE AS NOTIONAL
              FROM ${trades(first)} WHERE SIZE > 500 ORDER BY rn`;
    case 'W3':
      return `SELECT ${ns('t.TIMESTAMP')} AS TIMESTAMP, t.SYMBOL, t.PRICE, t.SIZE, t.EXCHANGE,
                     q.BID_PRICE, q.BID_SIZE, q.ASK_PRICE, q.ASK_SIZE
              FROM ${trades(first)} t ASOF LEFT JOIN ${quotes(second)} q
                ON t.SYMBOL = q.SYMBOL AND t.TIMESTAMP >= q.TIMESTAMP
              ORDER BY t.rn`;
    case 'W4':
      return `SELECT ${ns('make_timestamp_ns((bucket + 1) * 60000000000)')} AS TIMESTAMP, SYMBOL,
                     arg_min(PRICE, rn) AS OPEN, max(PRICE) AS HIGH, min(PRICE) AS LOW,
                     arg_max(PRICE, rn) AS CLOSE, sum(SIZE) AS VOLUME,
                     sum(PRICE * SIZE) / sum(SIZE) AS VWAP, count(*) AS TRADES
              FROM (SELECT *, epoch_ns(TIMESTAMP) // 60000000000 AS bucket FROM ${trades(first)})
              GROUP BY bucket, SYMBOL ORDER BY bucket, min(rn)`;
    case 'W5':
      return `SELECT ${ns('TIMESTAMP')} AS TIMESTAMP, SYMBOL, PRICE, SIZE, EXCHANGE
              FROM ${trades(first)} ORDER BY PRICE DESC, rn`;
    default:
      console.error(`unknown workload ${workload}`);
      process.exit(2);
  }
}

const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const connection = await instance.connect();
await connection.run(`COPY (${sql()}) TO ${quote(output)} (HEADER, DELIMITER ',')`);
connection.closeSync();
