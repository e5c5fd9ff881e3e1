// gradview static site, worker side: boots Pyodide, installs the packages, runs app/main.py (via
// app.browser.boot) and relays Bokeh document patches between Python and the page.
'use strict';

let pyodide = null;
let failed = false;

function phase(name) { self.postMessage({type: 'phase', phase: name}); }

function report(stage, err) {
  failed = true;
  const text = String(err && err.message ? err.message : err);
  const lines = text.trim().split('\n');
  // a Python traceback ends with the exception line: that is the message; the rest is detail
  self.postMessage({type: 'error', stage, message: stage + ': ' + lines[lines.length - 1], detail: text});
}

function sendPatch(patch, buffers) {
  self.postMessage({type: 'patch', patch, buffers});
}

function postFromPython(msg) {
  self.postMessage(msg);
}

async function install(cfg) {
  if (cfg.mode === 'local') {
    const problems = [];
    await pyodide.loadPackage(cfg.packages, {
      messageCallback: () => {},
      errorCallback: (m) => problems.push(m),
    });
    if (problems.length) throw new Error(problems.join('\n'));
    return;
  }
  // from the public CDNs, as Panel's own conversion does: micropip resolves Panel's dependencies
  await pyodide.loadPackage('micropip', {messageCallback: () => {}});
  const reqs = cfg.requirements.map((r) => (r.endsWith('.whl') && !/^https?:/.test(r))
    ? new URL(r, self.location.href).href : r);
  pyodide.globals.set('gv_requirements', pyodide.toPy(reqs));
  await pyodide.runPythonAsync('import micropip\nawait micropip.install(gv_requirements)');
}

async function start(msg) {
  const cfg = msg.config;
  let stage = 'Starting Python';
  try {
    const index = new URL(cfg.pyodide, self.location.href).href;
    importScripts(index + 'pyodide.js');
    const env = {};
    if (cfg.panel_cdn_root) env.PANEL_CDN_ROOT = new URL(cfg.panel_cdn_root, self.location.href).href;
    pyodide = await loadPyodide({indexURL: index, env});
    if (msg.interrupt) pyodide.setInterruptBuffer(msg.interrupt);

    stage = 'Installing packages';
    phase('packages');
    await install(cfg);

    stage = 'Starting the app';
    phase('app');
    pyodide.globals.set('sendPatch', sendPatch);
    const browser = pyodide.pyimport('gradview.app.browser');
    const restore = msg.restore ? pyodide.toPy(msg.restore) : null;
    const out = await browser.boot(msg.query || '', restore, postFromPython);
    const [docsJson, renderItems, rootIds] = out.toJs();
    out.destroy();
    self.postMessage({type: 'render', docs_json: docsJson, render_items: renderItems, root_ids: rootIds});
  } catch (e) {
    report(stage, e);
  }
}

const LINK = `
from panel.io.state import state
from panel.io.pyodide import _link_docs_worker
_link_docs_worker(state.curdoc, sendPatch, setter='js')
`;

const APPLY = `
from panel.io.state import state
from panel.io.pyodide import _convert_json_patch
state.curdoc.apply_json_patch(_convert_json_patch(patch), setter='js')
`;

const LOCATION = `
import json
from panel.io.state import state
from panel.util import edit_readonly
if state.location:
    loc_data = json.loads(location)
    with edit_readonly(state.location):
        state.location.param.update({k: v for k, v in loc_data.items() if k in state.location.param})
`;

self.onmessage = async (event) => {
  const msg = event.data;
  if (msg.type === 'start') { await start(msg); return; }
  if (!pyodide || failed) return;
  try {
    if (msg.type === 'rendered') {
      await pyodide.runPythonAsync(LINK);
    } else if (msg.type === 'patch') {
      pyodide.globals.set('patch', msg.patch);
      try {
        await pyodide.runPythonAsync(APPLY);
      } finally {
        self.postMessage({type: 'idle'});
      }
    } else if (msg.type === 'location') {
      pyodide.globals.set('location', msg.location);
      await pyodide.runPythonAsync(LOCATION);
    }
  } catch (e) {
    const text = String(e && e.message ? e.message : e);
    const lines = text.trim().split('\n');
    self.postMessage({type: 'error', stage: 'Running', message: lines[lines.length - 1], detail: text});
  }
};
