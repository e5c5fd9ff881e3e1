"""The bar above everything: examples, save/load/share, device, dtype, summary size and run status."""
from __future__ import annotations

import io
import os

import panel as pn
import param
from panel.viewable import Viewer

from ..notebook import parse_percent, to_percent
from ..state import AppState, DTYPES

__all__ = ["ControlsPanel", "list_examples", "EXAMPLES_DIR"]

PICK = "Examples…"  # the menu's title entry
FULL_VALUES_HELP = ("Tensors with at most this many elements keep every value for the inspector; bigger ones "
                    "keep statistics, a histogram and a preview")
EXAMPLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
FIRST = ("walkthrough", "neuron", "dynamic_graph")


def _py_stems(folder: str) -> list[str]:
    try:
        return sorted(n[:-3] for n in os.listdir(folder) if n.endswith(".py") and not n.startswith("_"))
    except OSError:
        return []


def list_examples(folder: str = EXAMPLES_DIR) -> dict[str, str]:
    """{title: path} of the example notebooks (the introductory ones first), then the training
    examples of the `training/` folder."""
    stems = sorted(_py_stems(folder), key=lambda s: (FIRST.index(s) if s in FIRST else len(FIRST), s))
    out = {s.replace("_", " ").capitalize(): os.path.join(folder, s + ".py") for s in stems}
    training = os.path.join(folder, "training")
    for s in _py_stems(training):
        out[f"Training: {s.replace('_', ' ')}"] = os.path.join(training, s + ".py")
    return out


def available_devices() -> list[str]:
    try:
        from gradview import engine
        return engine.backends.available()  # cpu, then cuda and webgpu where they load
    except Exception:  # noqa: BLE001
        return ["cpu"]


class ControlsPanel(Viewer):
    state = param.ClassSelector(class_=AppState)

    def __init__(self, state: AppState, actions, **params):
        super().__init__(state=state, **params)
        self.actions = actions
        state.param.device.objects = available_devices()
        self.examples = list_examples()
        self.example = pn.widgets.Select(name="", options=[PICK] + list(self.examples), value=PICK,
                                         width=210, margin=(8, 5),
                                         description="Load an example notebook (replaces the cells)")
        self.example.param.watch(self._pick_example, "value")
        self.save = pn.widgets.FileDownload(callback=self._save_file, filename="notebook.py", label="Save .py",
                                            button_type="default", width=90, margin=(8, 5), embed=False)
        self.load = pn.widgets.FileInput(accept=".py", width=96, margin=(8, 5), description="Load a .py notebook (cells split on # %% lines)")
        self.load.param.watch(self._load_file, "value")
        self.share = pn.widgets.Button(name="Share link", width=95, margin=(8, 5))
        self.share.on_click(lambda e: actions.share())
        # (in the status bar, which stretches: in the top bar it pushed the controls off the page)
        self.link = pn.widgets.TextInput(value="", placeholder="the share link appears here", width=420,
                                         height=24, margin=(1, 5), visible=False)
        self.undo = pn.widgets.Button(name="Undo load", width=90, height=24, margin=(1, 5), visible=False,
                                      description="Bring back the cells the last example or file replaced")
        self.undo.on_click(lambda e: actions.undo_load())
        self.device = pn.widgets.Select.from_param(
            state.param.device, name="", width=75, margin=(8, 5),
            description="Where new tensors go: cells get it as DEVICE (cuda needs a GPU and CuPy)")
        self.dtype = pn.widgets.Select.from_param(
            state.param.dtype, name="", width=90, margin=(8, 5),
            description="torch.get_default_dtype() in the cells")
        self.summary = pn.widgets.IntInput.from_param(
            state.param.summary_size, name="", width=80, margin=(8, 5), step=16,
            description=FULL_VALUES_HELP)
        self.stop = pn.widgets.Button(name="■ Stop", button_type="warning", width=70, margin=(8, 5), visible=False,
                                      css_classes=["gv-stop"])  # the static site stops runs on its click
        self.stop.on_click(lambda e: actions.stop())
        self.reset = pn.widgets.Button(name="Restart", width=75, margin=(8, 5),
                                       description="Forget every variable and run all cells from the top")
        self.reset.on_click(lambda e: actions.restart())
        self.spinner = pn.indicators.LoadingSpinner(value=False, size=18, name="")
        self.status = pn.pane.HTML("", margin=(8, 5), styles={"font-size": "12px", "color": "#555"},
                                   sizing_mode="stretch_width", css_classes=["gv-status"])
        label = {"font-size": "11px", "color": "#888"}
        self.spinner.margin = (2, 5, 0, 10)
        self.status.margin = (2, 5)
        self.header = pn.Row(
            pn.pane.HTML("<b style='font-size:18px'>gradview</b>", margin=(10, 8, 0, 10), width=92),
            self.example, self.save, pn.pane.HTML("open", styles=label, margin=(14, 0, 0, 6)), self.load,
            self.share,
            pn.HSpacer(),
            pn.pane.HTML("device", styles=label, margin=(14, 0, 0, 6)), self.device,
            pn.pane.HTML("dtype", styles=label, margin=(14, 0, 0, 4)), self.dtype,
            pn.pane.HTML(f"<span title='{FULL_VALUES_HELP}'>full values ≤</span>", styles=label,
                         margin=(14, 0, 0, 4)), self.summary,
            self.reset, self.stop,
            sizing_mode="stretch_width", height=50, margin=0)
        self.status_bar = pn.Row(self.spinner, self.status, self.undo, self.link, sizing_mode="stretch_width",
                                 height=26, margin=0,
                                 styles={"border-bottom": "1px solid #eee", "background": "#fafafa"})
        self._layout = pn.Column(self.header, self.status_bar, sizing_mode="stretch_width", margin=0)
        state.param.watch(self._status, ["running", "pending", "message", "errors", "notice"])
        state.param.watch(lambda e: setattr(self.undo, "visible", e.new is not None), "replaced")
        self._status()

    def __panel__(self):
        return self._layout

    def _status(self, *events):
        s = self.state
        self.spinner.value = s.running
        self.stop.disabled = not s.running
        text = "running…" if s.running else ("waiting for typing to pause…" if s.pending else s.message)
        extra = " ".join(([s.notice] if s.notice else []) + s.errors[:2])
        self.status.object = text + (f" <span style='color:#d4380d'>{extra}</span>" if extra else "")

    def _pick_example(self, event):
        title = event.new
        if title in self.examples:
            with open(self.examples[title], encoding="utf-8") as f:
                self.actions.load_cells(parse_percent(f.read()))
            self.save.filename = os.path.basename(self.examples[title])
            # back to the menu's own title: the cells may be edited or replaced next (so the menu
            # never names what is not shown), and picking the same example again reloads it
            self.example.value = PICK

    def _save_file(self):
        return io.StringIO(to_percent(self.state.codes()))

    def _load_file(self, event):
        if not event.new:
            return
        text = event.new.decode("utf-8", "replace") if isinstance(event.new, bytes) else str(event.new)
        self.actions.load_cells(parse_percent(text))
        if self.load.filename:
            self.save.filename = self.load.filename

    def show_link(self, url: str):
        self.link.value = url
        self.link.visible = True
