// gradview static site, page side: starts the Python worker, shows what it is doing while it
// boots, draws the app's Bokeh document and keeps it in sync with Python, and stops a runaway cell
// (interrupt buffer when cross-origin isolated, else a new worker that restores the cells).
(() => {
  'use strict';
  const cfg = JSON.parse(document.getElementById('gv-config').textContent);
  const $ = (id) => document.getElementById(id);
  const T0 = performance.now();
  const secs = (ms) => (ms / 1000).toFixed(1) + ' s';

  const gv = window.gradview = {
    config: cfg, state: 'booting', worker: null, jsdoc: null, timings: {}, restarts: 0,
    run: null, interruptible: false, error: null,
  };

  // ---------------------------------------------------------------------------- loading screen
  const PHASES = [
    ['python', 'Starting Python (Pyodide ' + cfg.versions.pyodide + ')'],
    ['packages', 'Installing packages: ' + cfg.package_label],
    ['app', 'Starting the app'],
    ['render', 'Drawing the page'],
  ];
  let phaseStart = {}, current = null, ticker = null;

  function drawPhases() {
    const list = $('gv-phases');
    list.innerHTML = '';
    for (const [name, label] of PHASES) {
      const li = document.createElement('li');
      const t = gv.timings[name];
      li.className = t != null ? 'done' : (name === current ? 'active' : 'todo');
      const span = document.createElement('span');
      span.className = 'gv-time';
      if (t != null) span.textContent = secs(t);
      else if (name === current) span.textContent = secs(performance.now() - phaseStart[name]);
      li.append(label, span);
      list.appendChild(li);
    }
    $('gv-elapsed').textContent = secs(performance.now() - T0);
  }

  function phase(name) {
    const now = performance.now();
    if (current && gv.timings[current] == null) gv.timings[current] = now - phaseStart[current];
    current = name;
    if (name) phaseStart[name] = now;
    drawPhases();
  }

  function showLoading(title) {
    $('gv-loading-title').textContent = title;
    $('gv-loading').hidden = false;
    document.body.classList.add('gv-booting');
    clearInterval(ticker);
    ticker = setInterval(drawPhases, 100);
  }

  function hideLoading() {
    clearInterval(ticker);
    $('gv-loading').hidden = true;
    document.body.classList.remove('gv-booting');
  }

  function fail(message, detail) {
    clearInterval(ticker);
    gv.state = 'failed';
    gv.error = message;
    document.body.dataset.gvState = 'failed';
    $('gv-loading').hidden = true;
    const box = $('gv-failed');
    box.hidden = false;
    $('gv-failed-message').textContent = message;
    $('gv-failed-detail').textContent = detail || '';
    $('gv-failed-detail').hidden = !detail;
    $('gv-failed-when').textContent = 'after ' + secs(performance.now() - T0) +
      (current ? ', while: ' + (PHASES.find((p) => p[0] === current) || [0, current])[1] : '');
  }

  // ---------------------------------------------------------------------------- the document
  let busy = false, queue = [], patching = 0;

  function post(msg) { if (gv.worker) gv.worker.postMessage(msg); }

  function isStopClick(event) {
    try {
      if (event.msg_type !== 'bokeh_event') return false;
      const e = event.msg_data;
      const origin = e && (e.origin || (e.model));
      const classes = origin && origin.css_classes;
      return e.event_name === 'button_click' && classes && classes.includes('gv-stop');
    } catch (err) { return false; }
  }

  function sendChange(jsdoc, event) {
    if ((event.setter_id != null && event.setter_id === 'py') || patching > 0) return;
    if (gv.run && isStopClick(event)) { stop(); return; }
    if (busy && event.model && event.attr) {
      queue = queue.filter((e) => !(e.model === event.model && e.attr === event.attr));
      queue.push(event);
      return;
    }
    busy = true;
    post({type: 'patch', patch: jsdoc.create_json_patch([event])});
  }

  async function render(msg) {
    const docsJson = JSON.parse(msg.docs_json);
    const renderItems = JSON.parse(msg.render_items);
    const rootIds = JSON.parse(msg.root_ids);
    const host = $('gv-app');
    const old = (Bokeh.index && Bokeh.index.roots) ? [...Bokeh.index.roots] : [];
    for (const view of old) {
      try { view.remove(); } catch (e) { /* already gone */ }
    }
    host.innerHTML = '';
    const roots = {};
    rootIds.forEach((id, i) => {
      const el = document.createElement('div');
      el.id = 'gv-root-' + gv.restarts + '-' + i;
      el.className = 'gv-root';
      host.appendChild(el);
      roots[id] = el.id;
    });
    renderItems[0].roots = roots;
    renderItems[0].root_ids = rootIds;
    const [views] = await Bokeh.embed.embed_items(docsJson, renderItems);
    const jsdoc = [...views.roots.values()][0].model.document;
    gv.jsdoc = jsdoc;
    shownStops = [];
    busy = false;
    queue = [];
    jsdoc.on_change(sendChange.bind(null, jsdoc), false);
    post({type: 'rendered'});
    post({type: 'location', location: JSON.stringify(window.location)});
  }

  function ready() {
    phase(null);
    gv.state = 'ready';
    gv.timings.total = performance.now() - T0;
    document.body.dataset.gvState = 'ready';
    hideLoading();
    note('Python ready in ' + secs(performance.now() - bootT0) +
         (gv.restarts ? ' (restarted)' : ' (page loaded in ' + secs(gv.timings.total) + ')'), 6000);
  }

  // ---------------------------------------------------------------------------- runs and stopping
  let stopTimer = null, runTicker = null, bootT0 = T0;

  function note(text, ms) {
    const el = $('gv-note');
    el.textContent = text;
    el.hidden = false;
    clearTimeout(el._t);
    if (ms) el._t = setTimeout(() => { el.hidden = true; }, ms);
  }

  function drawRunBar() {
    const bar = $('gv-runbar');
    const run = gv.run;
    if (!run || performance.now() - run.t0 < 1000) { bar.hidden = true; return; }
    bar.hidden = false;
    const index = run.start + run.done;
    $('gv-runbar-text').textContent = (run.stopping ? 'Stopping' : 'Running') + ' cell [' + (index + 1) +
      '] for ' + secs(performance.now() - run.t0);
  }

  function currentCodes(run) {
    // the editors' text as it is now (edits made during the run never reached Python)
    const codes = run.codes.slice();
    if (!gv.jsdoc) return codes;
    const byId = {};
    for (const m of gv.jsdoc.all_models) {
      const classes = m.css_classes;
      if (!classes || !classes.includes('gv-cell')) continue;
      const tag = classes.find((c) => c.startsWith('gv-cell-'));
      if (tag) byId[tag.slice(8)] = m;
    }
    run.ids.forEach((id, i) => {
      const m = byId[id];
      if (m && typeof m.code_input === 'string' && m.code_input !== '') codes[i] = m.code_input;
      else if (m && typeof m.code === 'string') codes[i] = m.code;
    });
    return codes;
  }

  // While Python is busy it cannot show the app's own Stop button: the page shows it (without
  // telling Python, which hides it again when the run ends).
  let showStopTimer = null, shownStops = [];

  function setLocally(model, attr, value) {
    try { patching += 1; model[attr] = value; } finally { patching -= 1; }
  }

  function showAppStop() {
    if (!gv.run || !gv.jsdoc) return;
    for (const m of gv.jsdoc.all_models) {
      if (m.css_classes && m.css_classes.includes('gv-stop') && (!m.visible || m.disabled)) {
        // Python would enable it too when the run starts, but it is busy running the cell
        setLocally(m, 'visible', true);
        setLocally(m, 'disabled', false);
        shownStops.push(m);
      }
    }
  }

  function hideAppStop() {
    for (const m of shownStops) {
      setLocally(m, 'visible', false);
      setLocally(m, 'disabled', true);
    }
    shownStops = [];
  }

  function stop() {
    const run = gv.run;
    if (!run || run.stopping) return;
    run.stopping = true;
    drawRunBar();
    if (gv.interruptible) {
      Atomics.store(gv.interrupt, 0, 2);   // SIGINT: Python stops the cell at its next line
      clearTimeout(stopTimer);
      stopTimer = setTimeout(() => { if (gv.run === run) restart(run); }, 3000);
    } else {
      restart(run);
    }
  }

  function restart(run) {
    const restore = {cells: currentCodes(run), stop: Math.min(run.start + run.done, run.ids.length - 1)};
    gv.worker.terminate();
    gv.worker = null;
    gv.run = null;
    gv.restarts += 1;
    clearInterval(runTicker);
    clearTimeout(showStopTimer);
    $('gv-runbar').hidden = true;
    gv.timings = {};
    showLoading('Stopping the cell: restarting Python');
    start(restore);
  }

  // ---------------------------------------------------------------------------- the worker
  function onMessage(msg) {
    switch (msg.type) {
      case 'phase': phase(msg.phase); break;
      case 'render':
        phase('render');
        render(msg).then(ready, (e) => fail('The page could not be drawn: ' + e, e && e.stack));
        break;
      case 'patch':
        if (!gv.jsdoc) break;
        try { patching += 1; gv.jsdoc.apply_json_patch(msg.patch, msg.buffers); } finally { patching -= 1; }
        break;
      case 'idle':
        if (queue.length && gv.jsdoc) {
          const patch = gv.jsdoc.create_json_patch(queue);
          queue = [];
          post({type: 'patch', patch});
        } else {
          busy = false;
        }
        break;
      case 'run-start':
        gv.run = {ids: msg.ids, codes: msg.codes, start: msg.start, done: 0, t0: performance.now()};
        clearInterval(runTicker);
        runTicker = setInterval(drawRunBar, 200);
        clearTimeout(showStopTimer);
        showStopTimer = setTimeout(showAppStop, 1000);
        break;
      case 'cell-done':
        if (gv.run) gv.run.done += 1;
        break;
      case 'run-end':
        gv.run = null;
        clearTimeout(showStopTimer);
        hideAppStop();
        clearTimeout(stopTimer);
        clearInterval(runTicker);
        $('gv-runbar').hidden = true;
        break;
      case 'timing':
        gv.timings.app_python = msg.app_s * 1000;   // imports and building the app
        gv.timings.doc_python = msg.doc_s * 1000;   // serialising its document for the page
        break;
      case 'error':
        if (gv.state === 'ready') { console.error(msg.message, msg.detail); note('Error: ' + msg.message, 8000); }
        else fail(msg.message, msg.detail);
        break;
      default:
        break;
    }
  }

  function start(restore) {
    bootT0 = performance.now();
    gv.state = 'booting';
    document.body.dataset.gvState = 'booting';
    const isolated = self.crossOriginIsolated === true && typeof SharedArrayBuffer !== 'undefined';
    gv.interruptible = isolated;
    gv.interrupt = isolated ? new Int32Array(new SharedArrayBuffer(4)) : null;
    let worker;
    try {
      worker = new Worker(cfg.worker);
    } catch (e) {
      fail('This browser cannot start a web worker: ' + e);
      return;
    }
    gv.worker = worker;
    worker.onmessage = (e) => { if (gv.worker === worker) onMessage(e.data); };
    worker.onerror = (e) => {
      if (gv.worker !== worker) return;
      e.preventDefault();
      fail('The Python worker failed to start: ' + (e.message || 'it could not be loaded'),
           (e.filename ? e.filename + ':' + e.lineno : ''));
    };
    phase('python');
    worker.postMessage({type: 'start', config: cfg, query: window.location.search, restore: restore || null,
                        interrupt: gv.interrupt});
  }

  $('gv-runbar-stop').addEventListener('click', stop);
  $('gv-failed-reload').addEventListener('click', () => window.location.reload());
  gv.stop = stop;
  if (typeof WebAssembly !== 'object' || typeof Worker !== 'function') {
    fail('This browser cannot run the app: it needs WebAssembly and web workers.');
    return;
  }
  if (typeof Bokeh === 'undefined') {
    fail('The page\'s JavaScript (BokehJS) did not load.', 'Check that the site was published whole.');
    return;
  }
  showLoading('Loading gradview');
  start(null);
})();
