// Reaches a V8 builtin that Node keeps behind a flag (`gc` on every Node line; ArrayBuffer transfer
// only on Node 20, see server/ops/buffer-release.ts).
// Setting a flag at runtime leaves the running context as it is, but V8 installs the builtin in
// contexts made afterwards, so it is taken from a fresh vm context; it works on this context's
// objects too.
import v8 from 'node:v8';
import vm from 'node:vm';

/** The value of `expression` in a new context made with `flag` set. */
export function builtinBehindFlag(flag: string, expression: string): unknown {
  v8.setFlagsFromString(flag);
  return vm.runInNewContext(expression);
}
