// Writes the vectors of an .fvecs file as Parquet with DuckDB, as a data pipeline would: an int64 column item_id (the
// row number) and a list<float> column embedding, DuckDB's own writer (snappy, row groups of 122,880 rows).
//
//   node fvecs-to-parquet.mjs BASE.fvecs OUT.parquet [PARTS_DIR N]
// writes OUT.parquet, one file; with PARTS_DIR N also a folder as Spark leaves it: N part files
// (part-0000i-...-c000.snappy.parquet) of consecutive rows, and a _SUCCESS marker. Both from one table, appended once:
// the appender costs about 0.3 ms of CPU per 128-d row, the COPYs little.
//
// Needs @duckdb/node-api where node finds it (bench/run-pipeline.sh installs it into its work folder).
import { DuckDBInstance, FLOAT, LIST } from '@duckdb/node-api';
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [input, output, partsDir, partsText] = process.argv.slice(2);
const parts = partsDir ? Number(partsText) : 0;
if (!input || !output || (partsDir && !(parts >= 1))) {
  console.error('usage: node fvecs-to-parquet.mjs BASE.fvecs OUT.parquet [PARTS_DIR N]');
  process.exit(2);
}

const instance = await DuckDBInstance.create(':memory:');
const db = await instance.connect();
await db.run('CREATE TABLE items (item_id BIGINT, embedding FLOAT[])');
const appender = await db.createAppender('items');
const listOfFloat = LIST(FLOAT);

// Read row by row through one buffer: the whole file is never in this process's memory (DuckDB's table is, compressed).
const file = openSync(input, 'r');
const header = Buffer.alloc(4);
readSync(file, header, 0, 4, 0);
const dimension = header.readInt32LE(0);
const rowBytes = 4 + 4 * dimension;
const rowsPerRead = 4096;
const buffer = Buffer.alloc(rowBytes * rowsPerRead);
let rows = 0;
for (let position = 0; ; ) {
  const read = readSync(file, buffer, 0, buffer.length, position);
  if (read === 0) break;
  if (read % rowBytes !== 0) throw new Error(`${input}: ${read} bytes at ${position} is not a whole number of ${rowBytes}-byte rows`);
  const floats = new Float32Array(buffer.buffer, buffer.byteOffset, read / 4);
  for (let r = 0; r < read / rowBytes; r++) {
    appender.appendBigInt(BigInt(rows++));
    appender.appendList(Array.from(floats.subarray(r * (dimension + 1) + 1, (r + 1) * (dimension + 1))), listOfFloat);
    appender.endRow();
  }
  position += read;
  // The appender's list values are native handles freed by finalizers, which run only when the event loop turns: a
  // loop that never yields held 4 GB for 100,000 rows of 128 floats, 1 GB of it per 25,000 rows.
  await new Promise(resolve => setImmediate(resolve));
}
closeSync(file);
appender.closeSync();

await db.run(`COPY (SELECT * FROM items ORDER BY item_id) TO '${output}' (FORMAT parquet, COMPRESSION snappy)`);
if (parts > 0) {
  rmSync(partsDir, { recursive: true, force: true });
  mkdirSync(partsDir, { recursive: true });
  const perPart = Math.ceil(rows / parts);
  for (let part = 0; part < parts; part++) {
    const name = `part-${String(part).padStart(5, '0')}-7d3c51b0-c000.snappy.parquet`;
    await db.run(`COPY (SELECT * FROM items WHERE item_id >= ${part * perPart} AND item_id < ${(part + 1) * perPart} ORDER BY item_id)
      TO '${join(partsDir, name)}' (FORMAT parquet, COMPRESSION snappy)`);
  }
  writeFileSync(join(partsDir, '_SUCCESS'), '');
}
const version = (await db.runAndReadAll('SELECT version()')).getRows()[0][0];
console.log(`wrote ${rows} rows × ${dimension} to ${output}${parts > 0 ? ` and ${partsDir} (${parts} parts)` : ''} with DuckDB ${version}`);
