const mods = process.argv.slice(2); const out = [];
for (const m of mods) { const c = process.cpuUsage(); const t = performance.now(); await import(m); const d = process.cpuUsage(c); out.push([(d.user + d.system) / 1000, performance.now() - t]); }
console.log(JSON.stringify({ boot: performance.now(), out }));
