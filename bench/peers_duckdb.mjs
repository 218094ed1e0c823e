// DuckDB side of the peers benchmark (bench/peers.py): one workload end to end, read_csv in
// and COPY to CSV out, as tickflow runs it.
//   node bench/peers_duckdb.mjs W1 prices.csv OUT.csv THREADS
//   node bench/peers_duckdb.mjs W2|W4|W5 trades.csv OUT.csv THREADS
//   node bench/peers_duckdb.mjs W3 trades.csv quotes.csv OUT.csv THREADS
// TIMESTAMP is read as TIMESTAMP_NS and written with nine digits; rows keep the file's order
// (a row number taken at the scan, with insertion order preserved), as tickflow's do.
import { DuckDBInstance } from '@duckdb/node-api';
import { ns, quote, QUOTE_TYPES, TRADE_TYPES, workloadSql } from './duckdb_workloads.mjs';

const [workload, ...rest] = process.argv.slice(2);
const threads = rest.pop();
const output = rest.pop();
const [first, second] = rest;
const numbered = (path, types) =>
  `(SELECT *, row_number() OVER () AS rn FROM read_csv(${quote(path)}, types = ${types}))`;

const WINDOWS = [10, 100, 1000, 10000, 100000, 1000000];
const STATS = [['MEAN', 'avg'], ['VAR', 'var_samp'], ['MIN', 'min'], ['MAX', 'max']];

function sql() {
  switch (workload) {
    case 'W1': {
      const columns = WINDOWS.flatMap((w) =>
        STATS.map(([name, fn]) => `${fn}(PRICE) OVER (ORDER BY rn ROWS BETWEEN ${w - 1} PRECEDING AND CURRENT ROW) AS PRICE_${name}_${w}`));
      return `SELECT ${ns('TIMESTAMP')} AS TIMESTAMP, PRICE, ${columns.join(', ')}
              FROM ${numbered(first, "{'TIMESTAMP': 'TIMESTAMP_NS', 'PRICE': 'DOUBLE'}")}
              ORDER BY rn`;
    }
    case 'W2':
    case 'W3':
    case 'W4':
    case 'W5':
      return workloadSql(workload, {
        trades: numbered(first, TRADE_TYPES),
        quotes: second && numbered(second, QUOTE_TYPES),
        bySymbol: false,
      });
    default:
      console.error(`unknown workload ${workload}`);
      process.exit(2);
  }
}

const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const connection = await instance.connect();
await connection.run(`COPY (${sql()}) TO ${quote(output)} (HEADER, DELIMITER ',')`);
connection.closeSync();
