// Writes the Parquet golden fixtures of the Datasets and Build tests with DuckDB, as a data pipeline would: DuckDB's own
// Parquet writer (snappy, dictionary-encoded strings, its list and array layouts), not the ParquetSharp the tests use.
// The generated files are committed, so the tests need neither node nor npm; run this only to change them:
//
//   cd tests/AnnServer.Datasets.Tests/Fixtures/parquet
//   npm install --no-save @duckdb/node-api@1.5.6-r.1
//   node make-duckdb-fixtures.mjs
//
// Every value is a function of the row number i, written out again in DuckDbFixtureTests.cs:
//   vector component j of row i = (4i + j) / 8   (exact in float and double)
//   see PAYLOAD below for the payload columns.
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const instance = await DuckDBInstance.create(':memory:');
const db = await instance.connect();
// One thread keeps row order, and lets a UNION ALL of row ranges become one row group per range (see rowGroups).
await db.run(`SET threads = 1`);

const vector = (type, dimension = 4) =>
  `[${Array.from({ length: dimension }, (_, j) => `((4 * i + ${j}) / 8)::${type}`).join(', ')}]`;

const PAYLOAD = `
  CASE WHEN i % 5 = 4 THEN NULL ELSE ['shoes', 'bags', 'hats'][i % 3 + 1] END AS category,
  CASE i % 4 WHEN 0 THEN ['new', 'sale'] WHEN 1 THEN []::VARCHAR[] WHEN 2 THEN NULL ELSE ['sale', NULL] END AS tags,
  (i - 5)::TINYINT AS tiny,
  (i - 300)::SMALLINT AS small,
  (i * 1000)::INTEGER AS medium,
  (5000000000 + i)::BIGINT AS big,
  (200 + i)::UTINYINT AS utiny,
  (60000 + i)::USMALLINT AS usmall,
  (4000000000 + i)::UINTEGER AS uint,
  CASE WHEN i = 7 THEN NULL ELSE [i, i + 1]::INTEGER[] END AS sizes,
  CASE WHEN i = 3 THEN NULL ELSE (i + 0.5)::FLOAT END AS price,
  (i / 4)::DOUBLE AS score,
  CASE WHEN i = 5 THEN NULL ELSE i % 2 = 0 END AS sponsored,
  (['en', 'fr', 'de'][i % 3 + 1])::locale AS locale`;

async function copy(query, file, options = '') {
  await db.run(`COPY (${query}) TO '${join(here, file)}' (FORMAT parquet${options})`);
}

await db.run(`CREATE TYPE locale AS ENUM ('en', 'fr', 'de')`);
const rows = (count, from = 0) => `FROM range(${from}, ${from + count}) r(i)`;

// Vectors in the element types pipelines write.
await copy(`SELECT i AS item_id, ${vector('FLOAT')} AS embedding ${rows(10)}`, 'float-list.parquet');
await copy(`SELECT i AS item_id, ${vector('DOUBLE')} AS embedding ${rows(10)}`, 'double-list.parquet');
await copy(`SELECT i AS item_id, ${vector('FLOAT')}::FLOAT[4] AS embedding ${rows(10)}`, 'fixed-array.parquet');
// A nullable list column with a null row (row 3).
await copy(`SELECT i AS item_id, CASE WHEN i = 3 THEN NULL ELSE ${vector('FLOAT')} END AS embedding ${rows(10)}`, 'nullable-list.parquet');

// 300 rows in three row groups of 100: DuckDB closes a row group once ROW_GROUP_SIZE rows are buffered, checked per
// chunk of the query's output, so each range of the UNION ALL is one chunk and one group.
const ranges = [0, 100, 200].map(from => `SELECT i AS item_id, ${vector('FLOAT', 2)} AS embedding ${rows(100, from)}`);
await copy(ranges.join(' UNION ALL '), 'row-groups.parquet', ', ROW_GROUP_SIZE 100');

// Payload columns of every kind that is read, with nulls.
await copy(`SELECT i AS item_id, ${vector('FLOAT')} AS embedding, ${PAYLOAD} ${rows(10)}`, 'payload-kinds.parquet');
// Types that are not read as payload: each must be refused, naming the column and its type.
await copy(`SELECT i AS item_id, ${vector('FLOAT')} AS embedding,
  DATE '2026-12-06' + i::INTEGER AS created, TIMESTAMP '2026-12-06 10:00:00' AS seen, (i * 1.25)::DECIMAL(10, 2) AS amount,
  (18446744073709551000 + i)::UBIGINT AS huge, [i / 2]::DOUBLE[] AS weights, {'a': i} AS attrs, MAP {'k': i} AS props,
  'x'::BLOB AS raw ${rows(4)}`, 'payload-unsupported.parquet');
// A NaN payload value (row 2) and a duplicate id (row 4 repeats row 1's): each a one-line error naming the row.
await copy(`SELECT CASE WHEN i = 4 THEN 1 ELSE i END AS item_id, ${vector('FLOAT')} AS embedding,
  CASE WHEN i = 2 THEN 'nan'::DOUBLE ELSE i END AS score ${rows(6)}`, 'bad-rows.parquet');

// A folder of parts as Spark leaves it: part files, a _SUCCESS marker and checksum side files.
const parts = join(here, 'spark-parts');
rmSync(parts, { recursive: true, force: true });
mkdirSync(parts);
await copy(`SELECT i AS item_id, ${vector('FLOAT')} AS embedding, ['shoes', 'bags', 'hats'][i % 3 + 1] AS category ${rows(6)}`,
  'spark-parts/part-00000-5f2a9c1e-c000.snappy.parquet');
await copy(`SELECT i AS item_id, ${vector('FLOAT')} AS embedding, ['shoes', 'bags', 'hats'][i % 3 + 1] AS category ${rows(6, 6)}`,
  'spark-parts/part-00001-5f2a9c1e-c000.snappy.parquet');
writeFileSync(join(parts, '_SUCCESS'), '');
writeFileSync(join(parts, '.part-00000-5f2a9c1e-c000.snappy.parquet.crc'), 'crc');

const version = await db.runAndReadAll(`SELECT version()`);
console.log(`written with DuckDB ${version.getRows()[0][0]}`);
