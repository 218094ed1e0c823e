// The SQL of the workloads W2-W5 shared by the DuckDB sides of the peers benchmark
// (bench/peers_duckdb.mjs, over CSV) and of the archive benchmark (bench/duckdb_archive.mjs, over
// native tables). Each takes its inputs as table expressions having a column `rn`, the row's
// position in load order, so ties keep that order as tickflow's stable operations do.

export const quote = (s) => `'${s.replaceAll("'", "''")}'`;
// Times written with nine digits, as tickflow writes them.
export const ns = (column) => `strftime(${column}, '%Y-%m-%d %H:%M:%S.%n')`;

export const TRADE_TYPES = `{'TIMESTAMP': 'TIMESTAMP_NS', 'SYMBOL': 'VARCHAR', 'PRICE': 'DOUBLE', 'SIZE': 'BIGINT', 'EXCHANGE': 'VARCHAR'}`;
export const QUOTE_TYPES = `{'TIMESTAMP': 'TIMESTAMP_NS', 'SYMBOL': 'VARCHAR', 'BID_PRICE': 'DOUBLE', 'BID_SIZE': 'BIGINT',
                             'ASK_PRICE': 'DOUBLE', 'ASK_SIZE': 'BIGINT'}`;

// `trades` and `quotes` are table expressions with `rn`. With bySymbol the rows come per symbol
// then by time (tickflow run once per symbol, the archive benchmark); otherwise in the order of
// the input (one run over every symbol, the peers benchmark).
export function workloadSql(workload, { trades, quotes, bySymbol }) {
  const rowOrder = (t) => (bySymbol ? `${t}SYMBOL, ${t}TIMESTAMP, ${t}rn` : `${t}rn`);
  switch (workload) {
    // Large trades with their notional.
    case 'W2':
      return `SELECT ${ns('TIMESTAMP')} AS TIMESTAMP, SYMBOL, PRICE, SIZE, EXCHANGE, PRICE * SIZE AS NOTIONAL
              FROM ${trades} WHERE SIZE > 500 ORDER BY ${rowOrder('')}`;
    // Each trade with the prevailing quote of its symbol (as-of, quote time <= trade time).
    case 'W3':
      return `SELECT ${ns('t.TIMESTAMP')} AS TIMESTAMP, t.SYMBOL, t.PRICE, t.SIZE, t.EXCHANGE,
                     q.BID_PRICE, q.BID_SIZE, q.ASK_PRICE, q.ASK_SIZE
              FROM ${trades} t ASOF LEFT JOIN ${quotes} q
                ON t.SYMBOL = q.SYMBOL AND t.TIMESTAMP >= q.TIMESTAMP
              ORDER BY ${rowOrder('t.')}`;
    // 1-minute OHLCV + VWAP bars per symbol, stamped with the bucket's end.
    case 'W4':
      return `SELECT ${ns('make_timestamp_ns((bucket + 1) * 60000000000)')} AS TIMESTAMP, SYMBOL,
                     arg_min(PRICE, rn) AS OPEN, max(PRICE) AS HIGH, min(PRICE) AS LOW,
                     arg_max(PRICE, rn) AS CLOSE, sum(SIZE) AS VOLUME,
                     sum(PRICE * SIZE) / sum(SIZE) AS VWAP, count(*) AS TRADES
              FROM (SELECT *, epoch_ns(TIMESTAMP) // 60000000000 AS bucket FROM ${trades})
              GROUP BY bucket, SYMBOL ORDER BY ${bySymbol ? 'SYMBOL, bucket' : 'bucket, min(rn)'}`;
    // Every trade, stable sort by PRICE descending (ties in load order).
    case 'W5':
      return `SELECT ${ns('TIMESTAMP')} AS TIMESTAMP, SYMBOL, PRICE, SIZE, EXCHANGE
              FROM ${trades} ORDER BY PRICE DESC, rn`;
    default:
      return undefined;
  }
}
