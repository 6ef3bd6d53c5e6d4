// Why node-mlx's native module did not load, said once for the person who must fix it: a binary
// built for another platform or CPU (what it is, what this machine is, how to build the right
// .vsix), or a system library missing on Linux (which one, and the apt-get line).
import fs from 'node:fs';
import { MlxBatchError } from '../shared/errors';

const FOREIGN = /invalid ELF header|wrong ELF class|not a mach-o file|incompatible architecture|mach-o file, but is an incompatible architecture|Exec format error|not a valid Win32 application/i;
const MISSING_LIB = /(lib(?:lapack|blas|openblas|gfortran|quadmath|gomp)[\w.+-]*\.so(?:\.\d+)*): cannot open shared object file/i;

/** What the first bytes of a native module say it was built for, or undefined. */
export function describeBinary(head: Buffer): string | undefined {
  if (head.length < 4) return undefined;
  const magic = head.readUInt32BE(0);
  if (magic === 0x7f454c46) {
    const bits = head[4] === 2 ? '64-bit' : head[4] === 1 ? '32-bit' : '';
    const little = head[5] !== 2;
    const machine = head.length >= 20 ? (little ? head.readUInt16LE(18) : head.readUInt16BE(18)) : -1;
    const cpu: Record<number, string> = { 0x3e: 'x64', 0xb7: 'arm64', 0x03: 'ia32', 0x28: 'arm' };
    return `a Linux ${cpu[machine] ?? `${bits} (machine ${machine})`} binary (ELF)`;
  }
  if (magic === 0xcffaedfe || magic === 0xcefaedfe || magic === 0xfeedfacf || magic === 0xfeedface) {
    const cpuType = head.length >= 8 ? head.readUInt32LE(4) : 0;
    const cpu = cpuType === 0x0100000c ? 'arm64' : cpuType === 0x01000007 ? 'x64' : 'unknown CPU';
    return `a macOS ${cpu} binary (Mach-O)`;
  }
  if (magic === 0xcafebabe) return 'a macOS universal binary (Mach-O)';
  if (head[0] === 0x4d && head[1] === 0x5a) return 'a Windows binary (PE)';
  return undefined;
}

function readHead(file: string): Buffer | undefined {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(20);
      const n = fs.readSync(fd, buf, 0, 20, 0);
      return buf.subarray(0, n);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/**
 * The MlxBatchError for a failed load of node-mlx: `binary` is the path of its mlx.node (when
 * known), `here` this machine's platform and CPU.
 */
export function mlxLoadError(e: unknown, binary: string | undefined, here = `${process.platform}-${process.arch}`): MlxBatchError {
  const err = e as NodeJS.ErrnoException;
  const raw = (err?.message ?? String(e)).split('\n')[0];
  if (FOREIGN.test(raw)) {
    const head = binary ? readHead(binary) : undefined;
    const found = head ? describeBinary(head) : undefined;
    return new MlxBatchError(
      'mlx_unavailable',
      `node-mlx's native module ${binary ?? ''} was built for another platform or CPU${found ? `: it is ${found}` : ''}, and this machine is ${here} (${raw}). ` +
        'Build the extension on this kind of machine: `npm run package` there makes a .vsix with the right binary.',
      binary,
    );
  }
  const lib = MISSING_LIB.exec(raw);
  if (lib) {
    return new MlxBatchError(
      'mlx_unavailable',
      `node-mlx's native module needs the system library ${lib[1]}, which is not installed here (${raw}). ` +
        'Install it: `sudo apt-get install liblapack3 libopenblas0-pthread`.',
      lib[1],
    );
  }
  if (err?.code === 'MODULE_NOT_FOUND' && /frost-beta\/mlx|mlx\.node/.test(raw)) {
    return new MlxBatchError('mlx_unavailable', `node-mlx (@frost-beta/mlx) is not installed next to mlx-batch (${raw}); run \`npm install\` in its folder`, binary);
  }
  return new MlxBatchError('mlx_unavailable', `node-mlx could not be loaded on ${here}: ${raw}`, binary);
}
