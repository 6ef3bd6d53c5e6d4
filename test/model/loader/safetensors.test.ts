import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readSafetensorsHeader } from '../../../src/server/loader/safetensors';
import { findWeightFiles } from '../../../src/server/loader/weight-files';
import { mx } from '../../../src/server/mlx';
import { assertMlxError, removeTempDirs, tempDir, writeJson } from '../helpers/loader-fixtures';

/** A safetensors file from a header object and a data section, written byte by byte. */
function writeRaw(file: string, header: unknown, dataBytes: number, headerLen?: number): void {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerLen ?? json.length));
  fs.writeFileSync(file, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
}

describe('safetensors header validation', () => {
  after(removeTempDirs);
  let dir: string;
  let good: string;
  before(() => {
    dir = tempDir('st');
    good = path.join(dir, 'good.safetensors');
    mx.saveSafetensors(good, { a: mx.ones([4, 8], mx.bfloat16), 'b.c': mx.zeros([3], mx.uint32) }, { format: 'mlx' });
  });

  it('reads names, dtypes, shapes and metadata of a file written by MLX', () => {
    const h = readSafetensorsHeader(good);
    assert.deepEqual([...h.tensors.keys()].sort(), ['a', 'b.c']);
    assert.deepEqual(h.tensors.get('a')?.shape, [4, 8]);
    assert.equal(h.tensors.get('a')?.dtype, 'BF16');
    assert.equal(h.tensors.get('b.c')?.dtype, 'U32');
    assert.equal(h.metadata.format, 'mlx');
    assert.equal(h.fileBytes, fs.statSync(good).size);
  });

  it('refuses a truncated file and names it', async () => {
    const bytes = fs.readFileSync(good);
    const cut = path.join(dir, 'cut.safetensors');
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
    await assertMlxError(() => readSafetensorsHeader(cut), 'corrupt_weights', 'cut.safetensors', 'truncated');
  });

  it('refuses a file cut inside its header', async () => {
    const bytes = fs.readFileSync(good);
    const cut = path.join(dir, 'cut-header.safetensors');
    fs.writeFileSync(cut, bytes.subarray(0, 20));
    await assertMlxError(() => readSafetensorsHeader(cut), 'corrupt_weights', 'cut-header.safetensors', 'truncated');
  });

  it('refuses files shorter than the length prefix, garbage, and absurd header lengths', async () => {
    const tiny = path.join(dir, 'tiny.safetensors');
    fs.writeFileSync(tiny, 'abc');
    await assertMlxError(() => readSafetensorsHeader(tiny), 'corrupt_weights', 'tiny.safetensors', 'fewer than');
    const garbage = path.join(dir, 'garbage.safetensors');
    fs.writeFileSync(garbage, 'this is not a safetensors file at all');
    await assertMlxError(() => readSafetensorsHeader(garbage), 'corrupt_weights', 'garbage.safetensors', 'header length');
  });

  it('refuses a header that is not JSON', async () => {
    const f = path.join(dir, 'notjson.safetensors');
    const body = Buffer.from('{"a": {"dtype": ');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(body.length));
    fs.writeFileSync(f, Buffer.concat([len, body]));
    await assertMlxError(() => readSafetensorsHeader(f), 'corrupt_weights', 'notjson.safetensors', 'not valid JSON');
  });

  it('refuses unknown dtypes, bad shapes, and offsets that disagree with shape x dtype', async () => {
    const f = path.join(dir, 'bad.safetensors');
    writeRaw(f, { w: { dtype: 'F17', shape: [2], data_offsets: [0, 8] } }, 8);
    await assertMlxError(() => readSafetensorsHeader(f), 'corrupt_weights', 'unknown dtype', '"w"');
    writeRaw(f, { w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } }, 8);
    await assertMlxError(() => readSafetensorsHeader(f), 'corrupt_weights', 'invalid shape');
    writeRaw(f, { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8);
    await assertMlxError(() => readSafetensorsHeader(f), 'corrupt_weights', 'should take 12 bytes', 'span 8');
    writeRaw(f, { w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, 8);
    await assertMlxError(() => readSafetensorsHeader(f), 'corrupt_weights', 'data_offsets');
  });

  it('refuses holes and overlaps in the data section', async () => {
    const f = path.join(dir, 'hole.safetensors');
    writeRaw(f, { a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8);
    await assertMlxError(() => readSafetensorsHeader(f), 'corrupt_weights', 'starts at byte 4, expected 0');
    writeRaw(f, { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8);
    await assertMlxError(() => readSafetensorsHeader(f), 'corrupt_weights', 'overlapping');
  });

  it('checks that every shard of model.safetensors.index.json exists and holds its tensors', async () => {
    const d = tempDir('shards');
    mx.saveSafetensors(path.join(d, 'model-00001-of-00002.safetensors'), { a: mx.ones([2]) });
    writeJson(path.join(d, 'model.safetensors.index.json'), {
      metadata: {},
      weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' },
    });
    await assertMlxError(() => findWeightFiles(d), 'corrupt_weights', 'model-00002-of-00002.safetensors', 'incomplete');
    mx.saveSafetensors(path.join(d, 'model-00002-of-00002.safetensors'), { c: mx.ones([2]) });
    await assertMlxError(() => findWeightFiles(d), 'corrupt_weights', '"b"', 'no shard holds it');
    mx.saveSafetensors(path.join(d, 'model-00002-of-00002.safetensors'), { b: mx.ones([2]) });
    const files = findWeightFiles(d);
    assert.deepEqual([...files.tensors.keys()].sort(), ['a', 'b']);
    assert.equal(files.files.length, 2);
    fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), '{"weight_map": ');
    await assertMlxError(() => findWeightFiles(d), 'corrupt_weights', 'model.safetensors.index.json', 'not valid JSON');
  });

  it('says so when a folder has no safetensors at all', async () => {
    const d = tempDir('noweights');
    fs.writeFileSync(path.join(d, 'pytorch_model.bin'), 'x');
    await assertMlxError(() => findWeightFiles(d), 'missing_tensors', 'no weights', 'model.safetensors');
  });
});
