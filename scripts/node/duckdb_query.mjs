// Runs SQL statements with DuckDB and prints the result of the last one as
// JSON: {"columns": [{"name", "type"}], "rows": [{...}]}. Go tests use it to
// check that our Parquet files read back in DuckDB as they should; benchmarks
// use it to time DuckDB on the same input.
//
//   node duckdb_query.mjs "SQL" ["SQL" ...]
import { DuckDBInstance } from '@duckdb/node-api';

const stmts = process.argv.slice(2);
if (stmts.length === 0) {
  console.error('usage: node duckdb_query.mjs SQL [SQL ...]');
  process.exit(2);
}
try {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  let result;
  for (const sql of stmts) result = await conn.runAndReadAll(sql);
  const names = result.columnNames();
  const types = result.columnTypes().map((t) => t.toString());
  const rows = result.getRowObjectsJson();
  process.stdout.write(JSON.stringify({
    columns: names.map((name, i) => ({ name, type: types[i] })),
    rows,
  }) + '\n');
} catch (e) {
  console.error(String(e && e.message ? e.message : e));
  process.exit(1);
}
