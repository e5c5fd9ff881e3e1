"""The graph's keys, for the whole page (not while typing in a cell, a field or a menu):

- `f`, `b`, `v`: draw the forward graph, the backward graph, or both (`view`, linked to the state);
- `←` / `→`: the player under the graph shown steps back / on by one event;
- `n`: values and gradients on the nodes, on or off (`values`, linked to the state).
"""
from __future__ import annotations

import param
from panel.reactive import ReactiveHTML

__all__ = ["GraphKeys", "KEY_HELP"]

KEY_HELP = ("keys: <b>f</b> forward · <b>b</b> backward · <b>v</b> both graphs · <b>← →</b> step through the "
            "events (▶ plays them in the order they ran) · <b>n</b> values on nodes")


class GraphKeys(ReactiveHTML):
    view = param.Selector(default="forward", objects=["forward", "backward", "both"],
                          doc="The graph view the keys f / b / v chose (or the switch shows).")
    values = param.Boolean(default=False, doc="Values on nodes, as the key n switched them (or the toggle shows).")

    _template = '<div id="keys" style="display:none"></div>'

    _scripts = {
        "render": """
state.down = (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented) return;
  // the cells' editors live in shadow roots, where ev.target is only their host: look at the whole path
  const path = ev.composedPath ? ev.composedPath() : [ev.target];
  for (const t of path) {
    if (t && t.nodeType === 1 && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)
                                  || (t.classList && t.classList.contains('ace_editor')))) return;
  }
  const views = {f: 'forward', b: 'backward', v: 'both'};
  if (views[ev.key]) {
    data.view = views[ev.key];
  } else if (ev.key === 'n') {
    data.values = !data.values;
  } else if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
    const name = {forward: 'graph', backward: 'backward', both: 'both'}[data.view] + '-player';
    let slider = null;
    for (const doc of Bokeh.documents) { slider = doc.get_model_by_name(name) || slider; }
    if (slider == null) return;
    const n = slider.end;
    slider.value = ev.key === 'ArrowRight' ? Math.min(n, slider.value + 1)
                                           : Math.max(0, Math.min(slider.value, n) - 1);
  } else return;
  ev.preventDefault();
};
document.addEventListener('keydown', state.down);
""",
        "remove": "document.removeEventListener('keydown', state.down);",
    }
