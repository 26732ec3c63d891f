/**
 * What users see of Context, Vhost and Wsi in their editor is the API and
 * nothing else: the published type declarations leave out every member
 * marked `@internal` (including those the layers add by augmentation),
 * and every member that remains carries documentation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ts from 'typescript';
import { distSrc, pkgPath } from '../helpers/paths.js';

const SRC_INDEX = pkgPath('src', 'index.ts');
const DTS_INDEX = distSrc('index.d.ts');
const CLASSES = ['Context', 'Vhost', 'Wsi'] as const;

const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true, skipLibCheck: true, noEmit: true, types: ['node'],
};

interface Member {
  name: string;
  internal: boolean;
  documented: boolean;
}

/** The instance members of each exported class, as a program built from `entry` sees them. */
function membersOf(entry: string): Map<string, Member[]> {
  const program = ts.createProgram([entry], OPTIONS);
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(entry);
  assert.ok(sf, `cannot read ${entry}`);
  const mod = checker.getSymbolAtLocation(sf);
  assert.ok(mod, `${entry} is not a module`);
  const out = new Map<string, Member[]>();
  for (const cls of CLASSES) {
    let sym = checker.getExportsOfModule(mod).find((e) => e.name === cls);
    assert.ok(sym, `${cls} is not exported from ${entry}`);
    if (sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
    const type = checker.getDeclaredTypeOfSymbol(sym);
    // ES private members (`#x`) are invisible to users whatever the declarations say.
    out.set(cls, checker.getPropertiesOfType(type).filter((p) => !p.name.startsWith('#')).map((p) => ({
      name: p.name,
      internal: p.getJsDocTags(checker).some((t) => t.name === 'internal'),
      documented: ts.displayPartsToString(p.getDocumentationComment(checker)).trim().length > 0,
    })));
  }
  return out;
}

const source = membersOf(SRC_INDEX);
const published = membersOf(DTS_INDEX);

for (const cls of CLASSES) {
  test(`${cls}: the published declarations hold exactly the members not marked @internal`, () => {
    const src = source.get(cls)!;
    const pub = new Set(published.get(cls)!.map((m) => m.name));
    const internal = src.filter((m) => m.internal).map((m) => m.name);
    assert.ok(internal.length > 0, `${cls} has internal members in the source (the check must see them)`);
    assert.deepEqual(internal.filter((n) => pub.has(n)), [], 'internal members visible to users');
    assert.deepEqual(src.filter((m) => !m.internal && !pub.has(m.name)).map((m) => m.name), [], 'public members missing');
  });

  test(`${cls}: every public member is documented`, () => {
    const members = published.get(cls)!;
    const undocumented = members.filter((m) => !m.documented).map((m) => m.name);
    // The compiled JS has no comments; the declarations get theirs from a second pass.
    assert.ok(undocumented.length < members.length,
      `no member of ${cls} has documentation in ${DTS_INDEX}'s declarations: build them with \`npm run build\` (tsconfig.types.json), not tsc -p tsconfig.json alone`);
    assert.deepEqual(undocumented, []);
  });
}

test('the layers\' additions are part of the published API (augmentation reaches users)', () => {
  const wsi = new Set(published.get('Wsi')!.map((m) => m.name));
  for (const n of ['hdrCopy', 'closeReason', 'isFinalFragment', 'httpClientRead', 'serveHttpFile', 'addHttpHeaderStatus'])
    assert.ok(wsi.has(n), `Wsi.${n}`);
  const vh = new Set(published.get('Vhost')!.map((m) => m.name));
  for (const n of ['tls', 'reloadTls', 'initClientSsl', 'wsOptions', 'serverString']) assert.ok(vh.has(n), `Vhost.${n}`);
  const ctx = new Set(published.get('Context')!.map((m) => m.name));
  for (const n of ['clientConnect', 'fops', 'plugins']) assert.ok(ctx.has(n), `Context.${n}`);
});
