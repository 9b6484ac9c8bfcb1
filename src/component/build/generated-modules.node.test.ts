/**
 * The generated modules (`generated/*.js` and `isolate/generated/*.js`, made by
 * generate-edge-modules.ts) and their committed declarations (`*.d.ts` beside them, which let `tsc` run before anything is generated)
 * describe the same exports.
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const generated = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** Export names a declaration file declares, as TypeScript reads it. */
function declaredExports(dts: string): string[] {
  const program = ts.createProgram([dts], { noEmit: true, skipLibCheck: true });
  const source = program.getSourceFile(dts);
  const symbol = source && program.getTypeChecker().getSymbolAtLocation(source);
  if (!symbol) throw new Error(`${dts} is not a module`);
  return program
    .getTypeChecker()
    .getExportsOfModule(symbol)
    .map((s) => s.name)
    .sort();
}

describe('generated edge modules', () => {
  for (const name of ['generated/isolate-modules', 'isolate/generated/node-abi', 'generated/transpiler-modules']) {
    it(`${name}.js exports exactly what the committed ${name}.d.ts declares`, async () => {
      const mod = (await import(generated(`../${name}.js`))) as Record<string, unknown>;
      expect(Object.keys(mod).sort()).toEqual(declaredExports(generated(`../${name}.d.ts`)));
    });
  }
});
