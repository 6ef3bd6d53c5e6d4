// The message for a node-mlx that does not load: the dlopen texts of each platform, and what
// the binary's first bytes say it is.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeBinary, mlxLoadError } from '../../../src/server/mlx-load-error';

function binary(bytes: number[]): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-bin-')), 'mlx.node');
  fs.writeFileSync(file, Buffer.concat([Buffer.from(bytes), Buffer.alloc(64)]));
  return file;
}

const MACHO_ARM64 = [0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0x00, 0x00, 0x01];
const ELF_ARM64 = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0xb7, 0];

describe('node-mlx load errors', () => {
  it('a binary of another platform: what it is, what this machine is, how to build the right .vsix', () => {
    const mac = binary(MACHO_ARM64);
    const e = mlxLoadError(new Error(`${mac}: invalid ELF header`), mac, 'linux-x64');
    assert.equal(e.type, 'mlx_unavailable');
    assert.equal(e.message, `node-mlx's native module ${mac} was built for another platform or CPU: it is a macOS arm64 binary (Mach-O), and this machine is linux-x64 ` +
      `(${mac}: invalid ELF header). Build the extension on this kind of machine: \`npm run package\` there makes a .vsix with the right binary.`);
    const linux = binary(ELF_ARM64);
    for (const text of [`dlopen(${linux}, 0x0001): tried: '${linux}' (not a mach-o file)`, `${linux}: wrong ELF class: ELFCLASS64`,
      `dlopen(${linux}, 0x0001): '${linux}' (mach-o file, but is an incompatible architecture (have 'x86_64', need 'arm64'))`]) {
      const m = mlxLoadError(new Error(text), linux, 'darwin-arm64').message;
      assert.ok(m.includes('it is a Linux arm64 binary (ELF), and this machine is darwin-arm64') && m.includes('`npm run package`'), m);
    }
  });

  it('a missing system library on Linux: the library and the apt-get line', () => {
    for (const lib of ['liblapack.so.3', 'libblas.so.3', 'libopenblas.so.0']) {
      const e = mlxLoadError(new Error(`${lib}: cannot open shared object file: No such file or directory`), '/x/mlx.node', 'linux-x64');
      assert.equal(e.type, 'mlx_unavailable');
      assert.equal(e.param, lib);
      assert.match(e.message, new RegExp(`needs the system library ${lib.replace(/\./g, '\\.')}, which is not installed here .* \`sudo apt-get install liblapack3 libopenblas0-pthread\`\\.$`));
    }
  });

  it('anything else keeps the loader message, typed', () => {
    const e = mlxLoadError(new Error('undefined symbol: foo'), undefined, 'linux-x64');
    assert.equal(e.message, 'node-mlx could not be loaded on linux-x64: undefined symbol: foo');
    assert.equal(describeBinary(Buffer.from('#!/bin')), undefined);
    assert.equal(describeBinary(Buffer.from([0xca, 0xfe, 0xba, 0xbe])), 'a macOS universal binary (Mach-O)');
  });
});
