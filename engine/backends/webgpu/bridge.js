// The JavaScript side of the WebGPU backend (engine/backends/webgpu_backend.py installs it with
// pyodide.code.run_js). Python owns all the bookkeeping: it numbers buffers and pipelines and sends
// batches of commands; this side keeps the GPU objects and encodes the batches.
//
// A batch is two byte arrays: the commands (uint32 words) and the kernel parameters (one SLOT-byte
// slot per dispatch, bound as a uniform buffer with a dynamic offset). Commands:
//   1 id size                    create storage buffer `id` of `size` bytes
//   2 pipeline n id*n slot gx gy gz  dispatch `pipeline` with buffers id*n (bindings 1..n) and
//                                    parameters slot `slot` (binding 0)
//   3 id                         destroy buffer `id` (after the batch is submitted)
//   4 src srcOff dst dstOff size copy bytes between buffers
// Buffer 0 is a 4-byte status word kernels may set (an index out of range); reads return it.
(function () {
  'use strict';
  if (globalThis.gradviewWebGPU) return;
  const SLOT = 512;
  const G = {SLOT, version: 1};
  let adapter = null;
  let device = null;
  let initializing = null;
  const buffers = new Map();
  const pipelines = [];
  const layouts = new Map();
  const bindGroups = new Map();
  let paramsBuf = null;
  let paramsCap = 0;
  let staging = null;
  let stagingCap = 0;
  const errors = [];
  let lost = null;

  function storage(size) {
    return device.createBuffer({
      size: Math.max(4, size),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
  }

  G.available = function () {
    return !!(globalThis.navigator && navigator.gpu);
  };

  G.init = function () {
    if (device) return Promise.resolve(G.info());
    if (!initializing) initializing = (async () => {
      if (!G.available()) throw new Error('navigator.gpu is missing: this browser has no WebGPU');
      adapter = await navigator.gpu.requestAdapter({powerPreference: 'high-performance'});
      if (!adapter) throw new Error('navigator.gpu.requestAdapter() found no adapter');
      const requiredLimits = {};
      for (const name of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize',
        'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY',
        'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupsPerDimension']) {
        if (adapter.limits[name] !== undefined) requiredLimits[name] = adapter.limits[name];
      }
      device = await adapter.requestDevice({requiredLimits});
      device.addEventListener('uncapturederror', (e) => errors.push(e.error.message));
      device.lost.then((info) => { lost = info.message || 'the GPU device was lost'; });
      buffers.set(0, storage(4));
      return G.info();
    })();
    return initializing.catch((e) => { initializing = null; throw e; });
  };

  G.info = function () {
    const info = adapter.info || {};
    const limits = {};
    for (const k of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize',
      'maxComputeInvocationsPerWorkgroup', 'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupsPerDimension']) {
      limits[k] = device.limits[k];
    }
    const fallback = !!(info.isFallbackAdapter || adapter.isFallbackAdapter);
    return JSON.stringify({vendor: info.vendor || '', architecture: info.architecture || '',
      device: info.device || '', description: info.description || '', fallback, limits});
  };

  function layout(sig) {
    let entry = layouts.get(sig);
    if (!entry) {
      const list = [{binding: 0, visibility: GPUShaderStage.COMPUTE,
        buffer: {type: 'uniform', hasDynamicOffset: true, minBindingSize: SLOT}}];
      for (let i = 0; i < sig.length; i++) {
        list.push({binding: i + 1, visibility: GPUShaderStage.COMPUTE,
          buffer: {type: sig[i] === 'w' ? 'storage' : 'read-only-storage'}});
      }
      const bgl = device.createBindGroupLayout({entries: list});
      entry = {bgl, pl: device.createPipelineLayout({bindGroupLayouts: [bgl]})};
      layouts.set(sig, entry);
    }
    return entry;
  }

  // compile(id, sig, code, label): the pipeline is usable at once (the GPU process compiles it
  // meanwhile); the compiler's verdict arrives later: compileErrors() lists the failures so far
  const compileFailures = [];
  G.compile = function (id, sig, code, label) {
    device.pushErrorScope('validation');
    const module = device.createShaderModule({code, label});
    const pipeline = device.createComputePipeline({layout: layout(sig).pl, compute: {module, entryPoint: 'main'},
      label});
    pipelines[id] = {pipeline, sig};
    const verdict = Promise.all([module.getCompilationInfo(), device.popErrorScope()]).then(([info, err]) => {
      const msgs = info.messages.filter((m) => m.type === 'error')
        .map((m) => `line ${m.lineNum}:${m.linePos}: ${m.message}`);
      if (err) msgs.push(err.message);
      const text = msgs.join('\n');
      if (text) compileFailures.push([id, text]);
      compiling.delete(verdict);
      return text;
    });
    compiling.add(verdict);
    return verdict;
  };
  const compiling = new Set();
  // a promise settled once every compile so far has its verdict
  G.compiled = function () { return Promise.all([...compiling]); };
  G.compileErrors = function () {
    const out = JSON.stringify(compileFailures);
    compileFailures.length = 0;
    return out;
  };

  function ensureParams(bytes) {
    if (bytes <= paramsCap) return;
    let cap = Math.max(paramsCap * 2, 64 * SLOT);
    while (cap < bytes) cap *= 2;
    if (paramsBuf) paramsBuf.destroy();
    paramsBuf = device.createBuffer({size: cap, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST});
    paramsCap = cap;
    bindGroups.clear();
  }

  function bindGroup(p, ids) {
    let key = p.sig;
    for (let i = 0; i < ids.length; i++) key += ',' + ids[i];
    let bg = bindGroups.get(key);
    if (!bg) {
      const entries = [{binding: 0, resource: {buffer: paramsBuf, offset: 0, size: SLOT}}];
      for (let i = 0; i < ids.length; i++) entries.push({binding: i + 1, resource: {buffer: buffers.get(ids[i])}});
      if (bindGroups.size > 20000) bindGroups.clear();
      bg = device.createBindGroup({layout: layout(p.sig).bgl, entries});
      bindGroups.set(key, bg);
    }
    return bg;
  }

  function forget(id) {
    const s = String(id);
    for (const key of bindGroups.keys()) {
      if (key.split(',').indexOf(s, 1) > 0) bindGroups.delete(key);
    }
  }

  // submit(commands: Uint8Array, params: Uint8Array)
  G.submit = function (cmdBytes, paramBytes) {
    if (lost) throw new Error(lost);
    const cmds = new Uint32Array(cmdBytes.buffer, cmdBytes.byteOffset, cmdBytes.byteLength >> 2);
    if (paramBytes.byteLength) {
      ensureParams(paramBytes.byteLength);
      device.queue.writeBuffer(paramsBuf, 0, paramBytes);
    }
    const enc = device.createCommandEncoder();
    let pass = null;
    const doomed = [];
    let i = 0;
    while (i < cmds.length) {
      const op = cmds[i];
      if (op === 2) {
        const p = pipelines[cmds[i + 1]];
        const n = cmds[i + 2];
        const ids = cmds.subarray(i + 3, i + 3 + n);
        const slot = cmds[i + 3 + n];
        if (!pass) pass = enc.beginComputePass();
        pass.setPipeline(p.pipeline);
        pass.setBindGroup(0, bindGroup(p, ids), [slot * SLOT]);
        pass.dispatchWorkgroups(cmds[i + 4 + n], cmds[i + 5 + n], cmds[i + 6 + n]);
        i += 7 + n;
      } else if (op === 1) {
        buffers.set(cmds[i + 1], storage(cmds[i + 2]));
        i += 3;
      } else if (op === 3) {
        doomed.push(cmds[i + 1]);
        i += 2;
      } else if (op === 4) {
        if (pass) { pass.end(); pass = null; }
        enc.copyBufferToBuffer(buffers.get(cmds[i + 1]), cmds[i + 2], buffers.get(cmds[i + 3]), cmds[i + 4], cmds[i + 5]);
        i += 6;
      } else {
        throw new Error(`bad WebGPU command ${op} at ${i}`);
      }
    }
    if (pass) pass.end();
    device.queue.submit([enc.finish()]);
    for (const id of doomed) {
      const b = buffers.get(id);
      if (b) { b.destroy(); buffers.delete(id); forget(id); }
    }
  };

  // write(id, byteOffset, data: Uint8Array): data lands after everything submitted before
  G.write = function (id, offset, data) {
    device.queue.writeBuffer(buffers.get(id), offset, data);
  };

  // read(id, byteOffset, nbytes) -> Promise of Uint8Array: the bytes, then the 4-byte status word
  G.read = async function (id, offset, nbytes) {
    if (lost) throw new Error(lost);
    const size = nbytes + 4;
    if (size > stagingCap) {
      if (staging) staging.destroy();
      stagingCap = Math.max(size, 4096);
      staging = device.createBuffer({size: stagingCap, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST});
    }
    const buf = staging;
    const enc = device.createCommandEncoder();
    if (nbytes) enc.copyBufferToBuffer(buffers.get(id), offset, buf, 0, nbytes);
    enc.copyBufferToBuffer(buffers.get(0), 0, buf, nbytes, 4);
    device.queue.submit([enc.finish()]);
    await buf.mapAsync(GPUMapMode.READ, 0, size);
    const out = new Uint8Array(buf.getMappedRange(0, size).slice(0));
    buf.unmap();
    return out;
  };

  G.clearStatus = function () {
    device.queue.writeBuffer(buffers.get(0), 0, new Uint32Array([0]));
  };

  // errors reported by the device since the last call ('' when none)
  G.takeErrors = function () {
    const text = errors.join('\n');
    errors.length = 0;
    return lost ? (text ? text + '\n' : '') + lost : text;
  };

  G.done = function () {
    return device.queue.onSubmittedWorkDone();
  };

  G.bufferCount = function () { return buffers.size; };

  globalThis.gradviewWebGPU = G;
})();
