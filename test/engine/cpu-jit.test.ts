// The compiler MLX's CPU backend builds fused kernels with (src/server/native/cpu-jit.ts): the
// script runs the real compiler with the added flags, it comes first on PATH with TMPDIR on its
// folder, a missing or refusing compiler changes nothing, and in this very process (set up when
// src/server/mlx.ts loaded node-mlx) the fused SwiGLU is built in that folder as vector code and
// gives the numbers of the plain ops.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuJit, mx } from '../../src/server/mlx';
import { CPU_JIT_FLAGS, installCpuJit } from '../../src/server/native/cpu-jit';
import { swiglu } from '../../src/server/model/swiglu';

const linux = process.platform === 'linux';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mlx-batch-cpu-jit-'));
}

/** The preprocessor's predefined macros as the compiler `cmd` sees them. */
function macros(cmd: string): string {
  const r = spawnSync(cmd, ['-E', '-dM', '-x', 'c++', os.devNull], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** The vector registers (ymm/zmm) a shared library's code uses. */
function vectorRegisters(lib: string): number {
  const r = spawnSync('objdump', ['-d', lib], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  assert.equal(r.status, 0, r.stderr);
  return (r.stdout.match(/%[yz]mm\d+/g) ?? []).length;
}

(linux ? describe : describe.skip)('CPU kernel compiler for mx.compile (Linux)', function () {
  this.timeout(120_000);

  it('installs a g++ that runs the real one with the flags, first on PATH, TMPDIR on its folder', () => {
    const root = tempDir();
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    const jit = installCpuJit(root, env);
    assert.ok(jit, 'a compiler is on PATH');
    assert.equal(path.dirname(jit.dir), root);
    assert.deepEqual(jit.flags, CPU_JIT_FLAGS);
    assert.equal(env.PATH!.split(path.delimiter)[0], jit.dir);
    assert.equal(env.TMPDIR, jit.dir);
    const script = path.join(jit.dir, 'g++');
    // -O3 defines __OPTIMIZE__ and -fno-math-errno __NO_MATH_ERRNO__: neither without the flags.
    const plain = macros(jit.compiler);
    assert.ok(!plain.includes('__OPTIMIZE__') && !plain.includes('__NO_MATH_ERRNO__'), 'the real compiler alone defines neither');
    const wrapped = macros(script);
    assert.ok(wrapped.includes('#define __OPTIMIZE__ 1') && wrapped.includes('#define __NO_MATH_ERRNO__ 1'), 'the script adds -O3 and -fno-math-errno');
    // A second process finds the same folder and does not put it on PATH twice.
    const again = installCpuJit(root, env);
    assert.equal(again?.dir, jit.dir);
    assert.equal(env.PATH!.split(path.delimiter).filter((d) => d === jit.dir).length, 1);
  });

  it('changes nothing without a compiler on PATH, or with one that refuses the flags', () => {
    const root = tempDir();
    const empty = tempDir();
    const none: NodeJS.ProcessEnv = { PATH: empty };
    assert.equal(installCpuJit(root, none), undefined);
    assert.deepEqual(none, { PATH: empty });
    const refusing = tempDir();
    fs.writeFileSync(path.join(refusing, 'g++'), '#!/bin/sh\nfor a in "$@"; do [ "$a" = -march=native ] && exit 1; done\nexit 0\n', { mode: 0o755 });
    const env: NodeJS.ProcessEnv = { PATH: refusing };
    assert.equal(installCpuJit(root, env), undefined);
    assert.deepEqual(env, { PATH: refusing });
    assert.deepEqual(fs.readdirSync(root), [], 'no folder for a compiler that refuses the flags');
  });

  it('builds the fused SwiGLU of this process in its folder as vector code, with the plain ops\' numbers', () => {
    assert.ok(cpuJit, 'set up when node-mlx was loaded');
    assert.equal(process.env.TMPDIR, cpuJit.dir);
    const gate = mx.random.normal([64, 256]);
    const up = mx.random.normal([64, 256]);
    const fused = swiglu(gate, up);
    const plain = mx.multiply(mx.multiply(gate, mx.sigmoid(gate)), up);
    mx.eval(fused, plain);
    assert.ok(mx.arrayEqual(fused, plain).item(), 'the fused kernel gives exactly the plain ops\' numbers');
    const libs = fs.readdirSync(cpuJit.dir).filter((f) => f.startsWith('lib') && f.includes('Sigmoid') && f.endsWith('.so'));
    assert.ok(libs.length >= 1, `MLX built its SwiGLU kernel in ${cpuJit.dir}: ${fs.readdirSync(cpuJit.dir).join(', ')}`);
    // The same source built with MLX's own command has no vector code: the flags are what adds it.
    const lib = path.join(cpuJit.dir, libs[0]);
    const source = path.join(cpuJit.dir, `${libs[0].slice(3, -3)}.cpp`);
    const own = path.join(tempDir(), 'own.so');
    const built = spawnSync(cpuJit.compiler, ['-std=c++17', '-O2', '-fPIC', '-shared', source, '-o', own], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    assert.equal(vectorRegisters(own), 0, 'MLX\'s command builds scalar code');
    assert.ok(vectorRegisters(lib) >= 8, 'the kernel MLX loaded is vector code');
  });
});
