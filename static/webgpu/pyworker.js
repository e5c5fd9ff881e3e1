// A Web Worker that runs Python (Pyodide) with the gradview engine, for the WebGPU test page and
// benchmark page. Messages in:
//   {type: 'boot', indexURL, wheels: [url, ...], packages: ['numpy']}
//   {type: 'run', id, code}      code runs with runPythonAsync (so pyodide.ffi.run_sync works);
//                                its value (the last expression) is sent back as a string
// Messages out: {type: 'booted', ok, error, seconds} and {type: 'result', id, ok, value, error}.
'use strict';

let pyodide = null;

async function boot(msg) {
  const t0 = performance.now();
  importScripts(msg.indexURL + 'pyodide.js');
  pyodide = await loadPyodide({indexURL: msg.indexURL});
  await pyodide.loadPackage(msg.packages || ['numpy'], {messageCallback: () => {}});
  for (const url of msg.wheels || []) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`cannot fetch ${url}: ${response.status}`);
    pyodide.unpackArchive(await response.arrayBuffer(), 'wheel');
  }
  return (performance.now() - t0) / 1000;
}

self.onmessage = async (event) => {
  const msg = event.data;
  if (msg.type === 'boot') {
    try {
      const seconds = await boot(msg);
      self.postMessage({type: 'booted', ok: true, seconds});
    } catch (e) {
      self.postMessage({type: 'booted', ok: false, error: String(e && e.message ? e.message : e)});
    }
  } else if (msg.type === 'run') {
    try {
      const value = await pyodide.runPythonAsync(msg.code);
      self.postMessage({type: 'result', id: msg.id, ok: true, value: value === undefined ? null : String(value)});
    } catch (e) {
      self.postMessage({type: 'result', id: msg.id, ok: false, error: String(e && e.message ? e.message : e)});
    }
  }
};
