"""The browser side of the cell editors: keys and cursor events the Ace widget does not send.

One invisible `EditorBridge` per page finds every cell editor (Ace views whose model carries the CSS
class `gv-cell`), and:
- binds Shift+Enter to "run this cell now" (`run_request` = "cell id|counter");
- reports the line the cursor is on (`cursor` = "cell id|line") so the graph can highlight it;
- moves an editor's cursor to a line when `goto` ("cell id|line|counter") is set from Python;
- marks the line of the graph player's current event in its cell (the player announces each event as
  a `gv-player-line` DOM event {source: cell id, line}; line -1 clears), an Ace marker of class
  `gv-player-line`, cleared when the player is reset or the code is edited.
"""
from __future__ import annotations

import param
from panel.reactive import ReactiveHTML

__all__ = ["EditorBridge"]


class EditorBridge(ReactiveHTML):
    run_request = param.String(default="", doc="Set by the page: 'cell id|counter' on Shift+Enter.")
    cursor = param.String(default="", doc="Set by the page: 'cell id|line' where the cursor rests.")
    goto = param.String(default="", doc="Set from Python: 'cell id|line|counter' to put the cursor on a line.")
    rescan = param.Integer(default=0, doc="Bumped from Python when cells were added or re-rendered.")

    _template = '<div id="bridge" style="display:none"></div>'

    _scripts = {
        "render": """
state.bound = new WeakSet();
state.editors = {};
state.last_cursor = '';
state.marks = [];  // [editor, Ace marker id] of the player's line
state.unmark = () => {
  for (const [ed, id] of state.marks) { try { ed.session.removeMarker(id); } catch (e) {} }
  state.marks = [];
};
state.player = (ev) => {
  const d = ev.detail || {};
  state.unmark();
  if (!d.source || !(d.line >= 1)) return;
  let v = state.editors[d.source];
  if (!v) { state.scan(); v = state.editors[d.source]; }
  if (!v || !window.ace) return;
  const ed = v._editor, row = d.line - 1;
  if (row >= ed.session.getLength()) return;
  const Range = ace.require('ace/range').Range;
  state.marks.push([ed, ed.session.addMarker(new Range(row, 0, row, 1), 'gv-player-line', 'fullLine', false)]);
  if (!ed.isRowFullyVisible(row)) ed.scrollToLine(row, true, false, () => {});
  try { v.el.scrollIntoView({block: 'nearest'}); } catch (e) {}
};
document.addEventListener('gv-player-line', state.player);
state.scan = () => {
  if (!window.Bokeh || !Bokeh.index || !Bokeh.index.query) return;
  const found = {};
  for (const v of Bokeh.index.query((v) => v._editor != null && v.model.css_classes != null
                                         && v.model.css_classes.includes('gv-cell'))) {
    const tag = v.model.css_classes.find((c) => c.startsWith('gv-cell-'));
    if (!tag) continue;
    const cid = tag.slice(8);
    found[cid] = v;
    const ed = v._editor;
    if (state.bound.has(ed)) continue;
    state.bound.add(ed);
    ed.on('change', () => { if (state.marks.length) state.unmark(); });  // the code changed: its line means nothing now
    ed.commands.addCommand({
      name: 'gvRunCell',
      bindKey: {win: 'Shift-Enter', mac: 'Shift-Enter'},
      exec: () => {
        v._update_code_input_from_editor();
        data.run_request = cid + '|' + Date.now();
      },
    });
    let timer = null;
    ed.selection.on('changeCursor', () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const at = cid + '|' + (ed.getCursorPosition().row + 1);
        if (at !== state.last_cursor) {
          state.last_cursor = at;
          data.cursor = at;
        }
      }, 120);
    });
  }
  state.editors = found;
};
state.scan();
state.interval = setInterval(state.scan, 800);
""",
        "rescan": "setTimeout(state.scan, 50); setTimeout(state.scan, 400);",
        "goto": """
if (!data.goto) return;
const parts = data.goto.split('|');
const cid = parts[0], row = parseInt(parts[1]) - 1;
state.scan();
const v = state.editors[cid];
if (!v || isNaN(row) || row < 0) return;
const ed = v._editor;
const text = ed.session.getLine(row) || '';
const Range = ace.require('ace/range').Range;
ed.selection.setSelectionRange(new Range(row, 0, row, text.length));
ed.scrollToLine(row, true, false, () => {});
try { v.el.scrollIntoView({block: 'nearest'}); } catch (e) {}
""",
        "remove": "clearInterval(state.interval); document.removeEventListener('gv-player-line', state.player);",
    }
