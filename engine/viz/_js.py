"""The browser side of the graph view: CustomJS bodies (plain strings, no Python dependencies).

They only read the `graph-nodes` / `graph-edges` columns, so they work the same in an exported
page, in Jupyter and inside the Panel app.
"""

# Labels: only for nodes in view, and only when a node is wide enough on screen to hold one (a
# canvas measures and draws every text it is given, so 20,000 labels would make every pan slow).
# Zoomed far out on a big graph, plain boxes stand in for the node glyphs (args detailed, coarse).
# Everything here runs once per batch of changes, after the current one is applied: Bokeh updates a
# glyph asynchronously, and a second data change landing while the first is still being applied
# leaves the glyph with columns of two lengths (RangeError: Offset is outside the bounds of the
# DataView). A new graph, a range change and a resize arriving together are one batch.
# args: xr, yr, fig, nodes, groups, labels, group_labels, ppu_label, ppu_sub, max_labels, detailed,
# coarse, ppu_coarse, many, cull_filters, cull_min, small_graph (graphs of at most this many nodes
# label every node whatever the zoom: below the label scale their labels shrink with the boxes),
# label_text (the labels' glyph), values_text (the glyph of the values written on nodes: a node
# with values shows its name centred `values_h / 2` above its centre, the values centred 0.35 below
# it: the name's 0.7 units over the values' `values_h`)
LABEL_LOD = """
if (labels._gv_pending) return;
labels._gv_pending = true;
setTimeout(() => {
  labels._gv_pending = false;
  const span = Math.abs(xr.end - xr.start) || 1;
  let px = 0;
  try { px = fig.inner_width; } catch (e) { px = 0; }
  if (!px) px = fig.width || 800;
  const ppu = px / span;
  const rough = ppu < ppu_coarse && nodes.data.x.length > many;
  // big graphs hand only what is in view to the glyphs: the filters read the ranges again
  if (nodes.data.x.length >= cull_min) for (const f of cull_filters) f.change.emit();
  for (const r of detailed) { if (r.visible === rough) r.visible = !rough; }
  for (const r of coarse) { if (r.visible !== rough) r.visible = rough; }
  const size = `${Math.max(5, Math.min(11, 11 * ppu / ppu_label)).toFixed(1)}px`;
  const now = label_text.text_font_size;
  if ((now && now.value !== undefined ? now.value : now) !== size) label_text.text_font_size = {value: size};
  const vsize = `${Math.max(7, Math.min(9, 9 * ppu / ppu_label)).toFixed(1)}px`;
  const vnow = values_text.text_font_size;
  if ((vnow && vnow.value !== undefined ? vnow.value : vnow) !== vsize) values_text.text_font_size = {value: vsize};
  if (ppu < ppu_label && nodes.data.x.length > small_graph) {
    if (labels.data.x.length) labels.data = {x: [], y: [], label: [], sub: [], text_colour: [], values: [], vy: []};
    if (group_labels.data.tx.length) group_labels.data = {tx: [], ty: [], label: [], line: []};
    return;
  }
  const x0 = Math.min(xr.start, xr.end) - 3, x1 = Math.max(xr.start, xr.end) + 3;
  const y0 = Math.min(yr.start, yr.end) - 3, y1 = Math.max(yr.start, yr.end) + 3;
  const nd = nodes.data, sub = ppu >= ppu_sub;
  const out = {x: [], y: [], label: [], sub: [], text_colour: [], values: [], vy: []};
  const vals = nd.values, vh = nd.values_h;
  for (let i = 0; i < nd.x.length && out.x.length < max_labels; i++) {
    const x = nd.x[i], y = nd.y[i];
    if (x < x0 || x > x1 || y < y0 || y > y1) continue;
    const h = vh ? vh[i] : 0;
    out.x.push(x); out.y.push(y + h / 2); out.label.push(nd.label[i]);
    out.sub.push(sub ? nd.sub[i] : ""); out.text_colour.push(nd.text_colour[i]);
    out.values.push(vals ? vals[i] : ""); out.vy.push(y - 0.35);
  }
  labels.data = out;
  const gd = groups.data, g = {tx: [], ty: [], label: [], line: []};
  for (let i = 0; i < gd.tx.length && g.tx.length < max_labels; i++) {
    if (gd.right[i] < x0 || gd.left[i] > x1 || gd.top[i] < y0 || gd.bottom[i] > y1) continue;
    g.tx.push(gd.tx[i]); g.ty.push(gd.ty[i]); g.label.push(gd.label[i]); g.line.push(gd.line[i]);
  }
  group_labels.data = g;
}, 0);
"""

# What of a big graph is in view (with a margin, so a short pan needs no new filter), as a filter
# computed from the source's data as it is now: a filter holding indices would point past the end
# of a smaller graph drawn next (Out of bounds: 0 <= 3999 < 17). args: xr, yr, nodes, cull_min,
# kind ("nodes", "edges" or "groups"); the source is the filtered one.
CULL = """
if (nodes.data.x.length < cull_min) return null;
const cx0 = Math.min(xr.start, xr.end), cx1 = Math.max(xr.start, xr.end);
const cy0 = Math.min(yr.start, yr.end), cy1 = Math.max(yr.start, yr.end);
const mx = (cx1 - cx0) * 0.25 + 2, my = (cy1 - cy0) * 0.25 + 2;
const vx0 = cx0 - mx, vx1 = cx1 + mx, vy0 = cy0 - my, vy1 = cy1 + my;
const d = source.data, keep = [];
if (kind === "nodes") {
  const nx = d.x, ny = d.y, nw = d.w;
  for (let i = 0; i < nx.length; i++) {
    if (nx[i] + nw[i] >= vx0 && nx[i] - nw[i] <= vx1 && ny[i] + 1 >= vy0 && ny[i] - 1 <= vy1) keep.push(i);
  }
} else if (kind === "edges") {
  for (let i = 0; i < d.x0.length; i++) {
    if (d.x1[i] >= vx0 && d.x0[i] <= vx1 && d.y1[i] >= vy0 && d.y0[i] <= vy1) keep.push(i);
  }
} else {
  for (let i = 0; i < d.left.length; i++) {
    if (d.right[i] >= vx0 && d.left[i] <= vx1 && d.top[i] >= vy0 && d.bottom[i] <= vy1) keep.push(i);
  }
}
return keep;
"""

# Highlight everything downstream of the tapped node (the path its value takes to the output).
# args: nodes, edges, path, path_nodes (index filters on the edge and node sources)
PATH_HIGHLIGHT = """
const sel = nodes.selected.indices;
const nd = nodes.data, ed = edges.data;
if (sel.length !== 1) { path.indices = []; path_nodes.indices = []; return; }
const start = nd.id[sel[0]];
const out = new Map();
for (let i = 0; i < ed.source.length; i++) {
  const s = ed.source[i];
  let l = out.get(s);
  if (l === undefined) { l = []; out.set(s, l); }
  l.push(i);
}
const seen = new Set([start]);
const stack = [start];
const eidx = [];
while (stack.length) {
  const v = stack.pop();
  for (const i of (out.get(v) || [])) {
    eidx.push(i);
    const t = ed.target[i];
    if (!seen.has(t)) { seen.add(t); stack.push(t); }
  }
}
const nidx = [];
for (let i = 0; i < nd.id.length; i++) if (seen.has(nd.id[i])) nidx.push(i);
path.indices = eidx;
path_nodes.indices = nidx;
"""

# Search by name, op, code or line number; selects the matches and centres the first one.
# args: nodes, xr, yr, status
SEARCH = """
const q = String(cb_obj.value_input !== undefined ? cb_obj.value_input : cb_obj.value).trim().toLowerCase();
const nd = nodes.data;
if (!q) { nodes.selected.indices = []; status.text = ""; return; }
const line = /^\\d+$/.test(q) ? parseInt(q, 10) : null;
let hits = [];
const has = (col, i) => col !== undefined && col[i] !== null && String(col[i]).toLowerCase().includes(q);
for (let i = 0; i < nd.id.length; i++) {
  if (line !== null ? nd.line[i] === line :
      (has(nd.label, i) || has(nd.op, i) || has(nd.var, i) || has(nd.module, i))) hits.push(i);
}
// by the code of the line only when no node is named so (a parameter's line names every layer)
if (!hits.length && line === null) for (let i = 0; i < nd.id.length; i++) if (has(nd.code, i)) hits.push(i);
nodes.selected.indices = hits;
if (hits.length) {
  const i = hits[0];
  const wx = (xr.end - xr.start) / 2, wy = (yr.end - yr.start) / 2;
  xr.start = nd.x[i] - wx; xr.end = nd.x[i] + wx;
  yr.start = nd.y[i] - wy; yr.end = nd.y[i] + wy;
}
status.text = hits.length === 0 ? "no match" : hits.length === 1 ? "1 match" : hits.length + " matches";
"""

# The inspector panel of an exported page: value and gradient of the tapped node, side by side.
# args: nodes, div
INSPECT = r"""
const sel = nodes.selected.indices;
const nd = nodes.data;
const esc = (s) => String(s === null || s === undefined ? "" : s).replace(/[&<>"]/g,
  (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})[c]);
if (sel.length === 0) {
  div.text = "<div class='gv-hint'>Click a node to see its value and gradient. Scroll to zoom, drag to pan; " +
             "labels appear as you zoom in.</div>";
  return;
}
const i = sel[0];
const fmt = (v) => {
  if (v === null || v === undefined) return "–";
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "True" : "False";
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return (a !== 0 && (a < 1e-3 || a >= 1e5)) ? v.toExponential(3) : String(+v.toPrecision(5));
};
const parse = (s) => { if (!s) return null; try { return JSON.parse(s); } catch (e) { return null; } };
const num = (v) => typeof v === "number" ? v : (v === "inf" ? Infinity : v === "-inf" ? -Infinity : NaN);
function colour(v, m) {
  if (!isFinite(v)) return "#999";
  const t = m > 0 ? Math.max(-1, Math.min(1, v / m)) : 0;
  const r = t > 0 ? 255 : Math.round(255 + t * 200), g = Math.round(255 - Math.abs(t) * 190),
        b = t < 0 ? 255 : Math.round(255 - t * 200);
  return `rgb(${r},${g},${b})`;
}
function flat(d) { return Array.isArray(d) ? d.flat(Infinity) : [d]; }
function grid(d, shape) {
  if (!Array.isArray(d)) return null;
  if (shape.length === 1) return [d];
  const cols = shape[shape.length - 1];
  const f = flat(d);
  const rows = [];
  for (let r = 0; r * cols < f.length; r++) rows.push(f.slice(r * cols, (r + 1) * cols));
  return rows;
}
function heat(rows, numbers) {
  const nr = rows.length, nc = rows[0].length;
  const cell = Math.max(4, Math.min(18, Math.floor(300 / Math.max(nr, nc))));
  const cw = numbers ? 54 : cell, ch = numbers ? 20 : cell;
  let m = 0;
  for (const row of rows) for (const v of row) { const x = Math.abs(num(v)); if (isFinite(x)) m = Math.max(m, x); }
  let s = `<svg width="${nc * cw}" height="${nr * ch}" class="gv-heat">`;
  rows.forEach((row, r) => row.forEach((v, c) => {
    s += `<rect x="${c * cw}" y="${r * ch}" width="${cw}" height="${ch}" fill="${colour(num(v), m)}" stroke="#fff"><title>[${r}, ${c}] ${fmt(v)}</title></rect>`;
    if (numbers) s += `<text x="${c * cw + cw / 2}" y="${r * ch + ch / 2 + 3}" text-anchor="middle">${esc(fmt(v))}</text>`;
  }));
  return s + "</svg>";
}
function bars(vals, edges) {
  const n = vals.length, w = Math.max(4, Math.min(30, Math.floor(300 / n))), h = 80;
  let lo = 0, hi = 0;
  for (const v of vals) { const x = num(v); if (isFinite(x)) { lo = Math.min(lo, x); hi = Math.max(hi, x); } }
  const span = hi - lo || 1, zero = h * hi / span;
  let s = `<svg width="${n * w}" height="${h + 2}" class="gv-bars">`;
  vals.forEach((v, k) => {
    const x = num(v), y = isFinite(x) ? h * (hi - Math.max(x, 0)) / span : 0;
    const bh = isFinite(x) ? Math.max(1, h * Math.abs(x) / span) : 0;
    const tip = edges ? `${fmt(edges[k])} … ${fmt(edges[k + 1])}: ${fmt(v)}` : `[${k}] ${fmt(v)}`;
    s += `<rect x="${k * w + 1}" y="${edges ? h - bh : y}" width="${w - 2}" height="${bh}" fill="${edges ? '#7a8ca8' : (x < 0 ? '#4393c3' : '#d6604d')}"><title>${esc(tip)}</title></rect>`;
  });
  if (!edges) s += `<line x1="0" x2="${n * w}" y1="${zero}" y2="${zero}" stroke="#999"/>`;
  return s + "</svg>";
}
function render(sm, what) {
  if (!sm) return `<div class="gv-none">no ${what}</div>`;
  const shape = sm.shape || [];
  let chart = "";
  if (sm.data !== undefined) {
    if (!Array.isArray(sm.data)) chart = `<div class="gv-big">${esc(fmt(sm.data))}</div>`;
    else {
      const rows = grid(sm.data, shape);
      const small = sm.numel <= 36;
      chart = shape.length === 1 && !small ? bars(sm.data) : heat(rows, small);
    }
  } else {
    if (sm.hist) chart += `<div class="gv-cap">histogram of ${esc(sm.numel)} values</div>` + bars(sm.hist.counts, sm.hist.edges);
    if (sm.preview && Array.isArray(sm.preview[0]))
      chart += `<div class="gv-cap">preview (every ${sm.preview_step.join(" × ")})</div>` + heat(sm.preview, false);
  }
  const stats = ["min", "max", "mean", "std", "norm"].filter((k) => sm[k] !== undefined)
    .map((k) => `<span><b>${k}</b> ${esc(fmt(sm[k]))}</span>`).join(" ");
  const bad = (sm.nan ? ` <span class="gv-bad">${sm.nan} NaN</span>` : "") + (sm.inf ? ` <span class="gv-bad">${sm.inf} inf</span>` : "");
  return `<div class="gv-side"><div class="gv-what">${what}</div>${chart}<div class="gv-stats">${stats}${bad}</div></div>`;
}
const val = parse(nd.value_json[i]), grad = parse(nd.grad_json[i]);
const rows = [["op", nd.op[i]], ["shape", nd.shape[i]], ["dtype", nd.dtype[i]], ["device", nd.device[i]],
              ["where", nd.where[i]], ["module", nd.module[i]], ["time", nd.time_text[i]]]
  .filter(([k, v]) => v !== null && v !== undefined && v !== "")
  .map(([k, v]) => `<tr><td>${k}</td><td>${esc(v)}</td></tr>`).join("");
const code = nd.code[i] ? `<pre class="gv-code">${esc(nd.code[i])}</pre>` : "";
const group = nd.is_group[i] ? `<div class="gv-hint">A folded group of ${nd.count[i]} nodes.</div>` : "";
div.text = `<div class="gv-insp"><div class="gv-title">${esc(nd.label[i])} <span class="gv-kind">${esc(nd.kind[i])}</span></div>` +
  `${group}<table class="gv-facts">${rows}</table>${code}<div class="gv-pair">${render(val, "value")}${render(grad, "gradient")}</div></div>`;
"""

# Switching the drawn step of an exported training run. args: steps (list of {nodes, edges, groups}),
# nodes, edges, groups, title, views, switch_, values, values_off, values_on
STEP_SLIDER = """
let s = steps[cb_obj.value];
if (!s) return;
// (values: the "values on nodes" toggle, choosing between the drawings values_off and values_on)
const set = values != null ? (values.active ? values_on : values_off) : views;
if (switch_ != null || values != null) {
  const v = set[switch_ != null ? switch_.labels[switch_.active] : 'forward'];
  if (v && v[cb_obj.value]) s = Object.assign({}, v[cb_obj.value], {title: s.title});
}
nodes.selected.indices = [];
groups.data = s.groups;
edges.data = s.edges;
nodes.data = s.nodes;
title.text = s.title;
"""

# Where a new graph starts, once the figure has its size. focus.data: {x, y, ppu} (centre here;
# pixels per layout unit) or {fit: [1]} (the whole graph).
# args: focus, xr, yr, fig
FOCUS = """
const d = focus.data;
if (focus._applied === d) return;
if (d.fit && d.fit.length && d.fit[0]) { focus._applied = d; xr.reset(); yr.reset(); return; }
if (!d.x || d.x.length === 0) return;
let w = 0, h = 0;
try { w = fig.inner_width; h = fig.inner_height; } catch (e) { return; }
if (!w || !h) return;
const ppu = d.ppu[0], sx = w / ppu, sy = h / ppu;
const ax = d.ax ? d.ax[0] : 0.5, ay = d.ay ? d.ay[0] : 0.5;
xr.setv({start: d.x[0] - ax * sx, end: d.x[0] + (1 - ax) * sx});
yr.setv({start: d.y[0] - ay * sy, end: d.y[0] + (1 - ay) * sy});
xr.have_updated_interactively = true;
yr.have_updated_interactively = true;
focus._applied = d;
"""

# The overview strip: a box showing what the main view shows; a click there moves the main view.
# VIEWPORT args: xr, yr, box.  RECENTRE (a tap on the overview) args: xr, yr
VIEWPORT = """
box.setv({left: xr.start, right: xr.end, bottom: Math.min(yr.start, yr.end), top: Math.max(yr.start, yr.end)});
"""
RECENTRE = """
const sx = xr.end - xr.start, sy = yr.end - yr.start;
xr.setv({start: cb_obj.x - sx / 2, end: cb_obj.x + sx / 2});
yr.setv({start: cb_obj.y - sy / 2, end: cb_obj.y + sy / 2});
xr.have_updated_interactively = true;
yr.have_updated_interactively = true;
"""

# the step-through player: slider.value k < n shows event k (the node with order k ringed, later
# ones veiled); k == n shows the whole graph
PLAYER_SHOW = """
const d = nodes.data;
const n = d.id ? d.id.length : 0;
const k = slider.value;
const px = [], py = [], pw = [], ph = [], cx = [], cy = [], cw = [], ch = [];
let cur = -1;
if (k < n) {
  const order = d.order;
  for (let i = 0; i < n; i++) {
    const o = order[i];
    if (o > k) { px.push(d.x[i]); py.push(d.y[i]); pw.push(d.w[i]); ph.push(d.h[i]); }
    else if (o === k) { cur = i; cx.push(d.x[i]); cy.push(d.y[i]); cw.push(d.w[i] + 0.08); ch.push(d.h[i] + 0.08); }
  }
}
pending.data = {x: px, y: py, w: pw, h: ph};
current.data = {x: cx, y: cy, w: cw, h: ch};
if (cur < 0) {
  label.text = n ? `${n} events · ▶ plays them in the order they ran (← → step)` : 'nothing ran yet';
} else {
  const line = d.line[cur] >= 0 ? ` · line ${d.line[cur]}` : '';
  const code = d.code[cur] ? ` <code>${String(d.code[cur]).replace(/&/g, '&amp;').replace(/</g, '&lt;')}</code>` : '';
  label.text = `event ${k + 1}/${n}: <b>${String(d.label[cur]).replace(/</g, '&lt;')}</b>${line}${code}`;
}
"""

PLAYER_RESET = """
const n = nodes.data.id ? nodes.data.id.length : 0;
const key = 'gvPlayer_' + slider.id;
if (window[key]) { clearInterval(window[key]); window[key] = null; }
slider.end = Math.max(n, 1);
slider.value = n;
slider.change.emit();
"""

PLAYER_BUTTON = """
const n = nodes.data.id ? nodes.data.id.length : 0;
const key = 'gvPlayer_' + slider.id;
const stop = () => { if (window[key]) { clearInterval(window[key]); window[key] = null; } play.label = '▶'; };
if (action === 'first') { stop(); slider.value = 0; }
else if (action === 'last') { stop(); slider.value = n; }
else if (action === 'prev') { stop(); slider.value = Math.max(0, Math.min(slider.value, n) - 1); }
else if (action === 'next') { stop(); slider.value = Math.min(n, slider.value + 1); }
else if (action === 'play') {
  if (window[key]) { stop(); }
  else {
    if (slider.value >= n) slider.value = 0;
    play.label = '❚❚';
    window[key] = setInterval(() => {
      if (slider.value >= n) { stop(); return; }
      slider.value = slider.value + 1;
    }, interval);
  }
}
"""

VIEW_SWITCH = """
const chosen = (values != null ? (values.active ? values_on : values_off) : views)[cb_obj.labels[cb_obj.active]];
if (!chosen) return;
const s = chosen[slider != null ? slider.value : 0];
if (!s) return;
nodes.selected.indices = [];
groups.data = s.groups;
edges.data = s.edges;
nodes.data = s.nodes;
"""

# the "values on nodes" toggle of an exported page: the same view and step, drawn with or without
# each node's value and gradient; the selected node stays selected.
# args: values_off, values_on ({view: [drawing per step]}), switch_, slider, nodes, edges, groups
VALUES_SWITCH = """
const set = cb_obj.active ? values_on : values_off;
const chosen = set[switch_ != null ? switch_.labels[switch_.active] : 'forward'];
if (!chosen) return;
const s = chosen[slider != null ? slider.value : 0];
if (!s) return;
const sel = nodes.selected.indices;
const id = sel.length ? nodes.data.id[sel[0]] : null;
nodes.selected.indices = [];
groups.data = s.groups;
edges.data = s.edges;
nodes.data = s.nodes;
const k = id === null ? -1 : s.nodes.id.indexOf(id);
if (k >= 0) nodes.selected.indices = [k];
"""

# an exported page's keys: f / b / v pick the forward, backward or both view; ← → step the player;
# n switches values on nodes.
# A page may hold several graphs (documentation, notebooks): each registers here once, and one
# listener gives a key to one graph only: the one under the pointer, else the one last clicked or
# focused (a page with one graph: that one always). args: switch_, player, nodes, root (the
# graph's whole layout, whose element is where the pointer is watched)
PAGE_KEYS = """
const reg = window.gvGraphs || (window.gvGraphs = {list: [], last: null, bound: false});
if (reg.list.some((g) => g.nodes === nodes)) return;
const me = {switch_: switch_, player: player, nodes: nodes, values: values, over: false};
reg.list.push(me);
const view = root != null && window.Bokeh ? Bokeh.index.find_one(root) : null;
if (view && view.el) {
  view.el.addEventListener('pointerenter', () => { me.over = true; });
  view.el.addEventListener('pointerleave', () => { me.over = false; });
  view.el.addEventListener('pointerdown', () => { reg.last = me; }, true);
  view.el.addEventListener('focusin', () => { reg.last = me; });
}
if (reg.bound) return;
reg.bound = true;
document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  // typing anywhere (widgets inside shadow roots too: ev.target is only their host) is not a key
  for (const t of (ev.composedPath ? ev.composedPath() : [ev.target])) {
    if (t && t.nodeType === 1 && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
  }
  const g = reg.list.length === 1 ? reg.list[0] : (reg.list.find((x) => x.over) || reg.last);
  if (!g) return;
  const sw = g.switch_, pl = g.player;
  const views = {f: 'forward', b: 'backward', v: 'both'};
  const n = g.nodes.data.id ? g.nodes.data.id.length : 0;
  if (sw != null && views[ev.key] && sw.labels.includes(views[ev.key])) {
    sw.active = sw.labels.indexOf(views[ev.key]);
  } else if (pl != null && ev.key === 'ArrowRight') { pl.value = Math.min(n, pl.value + 1); }
  else if (pl != null && ev.key === 'ArrowLeft') { pl.value = Math.max(0, Math.min(pl.value, n) - 1); }
  else if (g.values != null && ev.key === 'n') { g.values.active = !g.values.active; }
  else return;
  ev.preventDefault();
});
"""

# "why this gradient?" on an exported page: the answers were worked out when the page was made,
# one table {node id: HTML} per kept step; a backward node stands for the forward node it belongs
# to. One callback (the table is written into the page once): a new selection enables the button
# when the chosen node has an answer, the button shows it. args: nodes, table, slider, button, answer
EXPLAIN = """
const sel = nodes.selected.indices;
const d = nodes.data;
const t = table[slider != null ? slider.value : 0] || {};
const key = sel.length !== 1 ? null : ((d.forward_id && d.forward_id[sel[0]]) || d.id[sel[0]]);
const known = key !== null && t[key] !== undefined;
if (cb_obj.origin === button) { if (known) answer.text = t[key]; return; }  // (a click event)
answer.text = "";
button.disabled = !known;
"""
