"""The device runtime: buffers, pipelines and a queue of commands sent to the JavaScript bridge
(bridge.js) in batches.

Nothing here waits for the GPU except `read` (and `synchronize`): kernels are queued as commands
and sent with their parameters in one call per batch, so a chain of elementwise ops costs one
JavaScript call per `MAX_BATCH` kernels and no readback. A read waits with
`pyodide.ffi.run_sync`, which needs JSPI (Chromium) and a caller that came through
`runPythonAsync` (a Web Worker running Python does).

Buffers are numbered here; a buffer no array refers to any more goes back to a pool by size class
and is reused by a later allocation. Reuse is safe without waiting: the queue runs commands in
order, and a write to a buffer (an upload) first sends everything queued before it.
"""
from __future__ import annotations

import struct
from array import array

SLOT_WORDS = 128          # parameter words per dispatch (bridge.js SLOT = 512 bytes)
MAX_BATCH = 256           # dispatches per batch before it is sent on its own
POOL_LIMIT = 256 << 20    # bytes of idle buffers kept for reuse
_ZEROS = array("I", bytes(4 * SLOT_WORDS))
_F = struct.Struct("<f")
_I = struct.Struct("<I")


def f32_bits(value):
    """The bits of a Python float as a float32, for a parameter word."""
    return _I.unpack(_F.pack(value))[0]


class WebGPUError(RuntimeError):
    """The GPU reported an error (a kernel failed validation, the device was lost)."""


def size_class(nbytes):
    """Capacities are multiples of 16 bytes, rounded up to 2**k or 1.5 * 2**k (a third wasted at most)."""
    if nbytes <= 32:
        return 16 if nbytes <= 16 else 32
    k = (nbytes - 1).bit_length()
    half = 3 << (k - 2)
    return half if nbytes <= half else 1 << k


class Buffer:
    """A GPU buffer of `cap` bytes; arrays (and views) hold it, the pool takes it back when none do."""

    __slots__ = ("id", "cap", "rt", "__weakref__")

    def __init__(self, rt, id, cap):
        self.rt = rt
        self.id = id
        self.cap = cap

    def __del__(self):
        rt = self.rt
        if rt is not None:
            try:
                rt.release(self.id, self.cap)
            except Exception:  # interpreter shutdown
                pass


class Runtime:
    def __init__(self, bridge, run_sync, to_js, can_run_sync):
        self.bridge = bridge
        self._run_sync = run_sync
        self._to_js = to_js
        self._can_run_sync = can_run_sync
        self.cmds = array("I")
        self.params = array("I")
        self.nslots = 0
        self.next_id = 1          # buffer 0 is the bridge's status word
        self.pool = {}
        self.pool_bytes = 0
        self.doomed = []
        self.pipelines = {}
        self.next_pipeline = 0
        self.cpu_like = False     # a CPU-emulated adapter (SwiftShader): kernels without barriers win
        self.sources = {}
        self.check_compiles = False
        self.stats = {"dispatches": 0, "batches": 0, "reads": 0, "read_bytes": 0, "writes": 0, "write_bytes": 0,
                      "buffers": 0, "pipelines": 0}

    # -- buffers ---------------------------------------------------------------------------
    def alloc(self, nbytes):
        cap = size_class(nbytes)
        free = self.pool.get(cap)
        if free:
            self.pool_bytes -= cap
            return Buffer(self, free.pop(), cap)
        bid = self.next_id
        self.next_id += 1
        self.cmds.extend((1, bid, cap))
        self.stats["buffers"] += 1
        return Buffer(self, bid, cap)

    def release(self, bid, cap):
        free = self.pool.get(cap)
        if free is None:
            free = self.pool[cap] = []
        free.append(bid)
        self.pool_bytes += cap
        if self.pool_bytes > POOL_LIMIT:
            self.doomed.append(cap)

    def _trim(self):
        """Destroy idle buffers beyond POOL_LIMIT, largest size classes first."""
        self.doomed.clear()
        for cap in sorted(self.pool, reverse=True):
            free = self.pool[cap]
            while free and self.pool_bytes > POOL_LIMIT // 2:
                self.cmds.extend((3, free.pop(0)))
                self.pool_bytes -= cap

    # -- kernels ---------------------------------------------------------------------------
    def pipeline(self, key, sig, make_source):
        """The pipeline for `key`, made on first use from make_source(). It is not waited for: the
        browser compiles it while Python goes on, and a kernel that fails to compile is reported
        (with its source) at the next read. `check_compiles = True` waits for each instead."""
        pid = self.pipelines.get(key)
        if pid is None:
            source = make_source()
            pid = self.next_pipeline
            self.next_pipeline += 1
            pending = self.bridge.compile(pid, sig, source, str(key)[:200])
            self.sources[pid] = (key, source)
            if self.check_compiles and self._can_run_sync():
                self._run_sync(pending)
                self._compile_errors()
            self.pipelines[key] = pid
            self.stats["pipelines"] += 1
        return pid

    def _compile_errors(self):
        import json
        failures = json.loads(self.bridge.compileErrors())
        if failures:
            pid, problems = failures[0]
            key, source = self.sources.get(pid, ("?", ""))
            for k in [k for k, v in self.pipelines.items() if v in {f[0] for f in failures}]:
                del self.pipelines[k]  # made again (and reported again) if used again
            raise WebGPUError(f"WGSL kernel {key!r} does not compile:\n{problems}\n--- source ---\n{source}")

    def dispatch(self, pid, ids, words, groups):
        """Queue one kernel: buffers `ids` (bindings 1..n), parameter words, workgroup counts."""
        slot = self.nslots
        self.nslots = slot + 1
        params = self.params
        params.extend(words)
        pad = SLOT_WORDS - len(words)
        if pad:
            params.extend(_ZEROS[:pad])
        gx, gy, gz = groups
        self.cmds.extend((2, pid, len(ids), *ids, slot, gx, gy, gz))
        self.stats["dispatches"] += 1
        if slot + 1 >= MAX_BATCH:
            self.flush()

    def copy(self, src, src_off, dst, dst_off, nbytes):
        """Queue a byte copy between buffers (offsets and size multiples of 4)."""
        if nbytes:
            self.cmds.extend((4, src, src_off, dst, dst_off, nbytes))

    def flush(self):
        if self.doomed:
            self._trim()
        if not self.cmds:
            return
        to_js = self._to_js
        cmds, params = self.cmds, self.params
        self.cmds = array("I")
        self.params = array("I")
        self.nslots = 0
        self.stats["batches"] += 1
        self.bridge.submit(to_js(memoryview(cmds).cast("B")), to_js(memoryview(params).cast("B")))

    # -- transfers -------------------------------------------------------------------------
    def write(self, bid, offset, data):
        """Copy host bytes into a buffer after everything queued so far."""
        self.flush()
        if len(data):
            self.bridge.write(bid, offset, self._to_js(memoryview(data).cast("B")))
            self.stats["writes"] += 1
            self.stats["write_bytes"] += len(data)

    def read(self, bid, offset, nbytes):
        """The bytes of a buffer once everything queued so far has run."""
        if not self._can_run_sync():
            raise RuntimeError("reading a webgpu tensor needs pyodide.ffi.run_sync (JSPI, e.g. Chromium) and code "
                               "started with runPythonAsync, as a Web Worker running Python does")
        self.flush()
        raw = self._run_sync(self.bridge.read(bid, offset, nbytes)).to_bytes()
        self.stats["reads"] += 1
        self.stats["read_bytes"] += nbytes
        self._check_errors()
        status = raw[nbytes:nbytes + 4]
        if status != b"\0\0\0\0":
            self.bridge.clearStatus()
            raise IndexError("index out of range in a webgpu gather or scatter (checked on the GPU and reported "
                             "at the next read)")
        return raw[:nbytes]

    def synchronize(self):
        self.flush()
        if self._can_run_sync():
            self._run_sync(self.bridge.done())
        self._check_errors()

    def _check_errors(self):
        errors = self.bridge.takeErrors()
        if errors and self._can_run_sync():
            self._run_sync(self.bridge.compiled())  # a kernel that failed to compile explains it best
        self._compile_errors()
        if errors:
            raise WebGPUError(f"the GPU reported: {errors}")
