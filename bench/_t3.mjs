const before = new Set(process.moduleLoadList);
const { main } = await import('../dist/cli/main.js');
await main(['node', 'kconv', ...process.argv.slice(2)]);
console.error(process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith('NativeModule')).join(' '));
