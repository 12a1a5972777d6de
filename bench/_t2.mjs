const a = performance.now();
const { main } = await import('../dist/cli/main.js');
const b = performance.now();
await main(['node', 'kconv', ...process.argv.slice(2)]);
const c = performance.now();
console.error(`boot ${a.toFixed(0)} import-main ${(b-a).toFixed(0)} run ${(c-b).toFixed(0)}`);
