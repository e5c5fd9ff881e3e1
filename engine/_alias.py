"""One module name standing for another: `import torch` giving the engine in scripts and cells, and,
from a checkout, the folder names `engine`/`app` giving the installed package's `gradview.engine`/
`gradview.app`, so no module is ever loaded twice under two names."""
import importlib
import importlib.abc
import importlib.util


class ModuleAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """A finder (put first on sys.meta_path) for `short` and `short.<name>` that hands back the
    already-imported modules `full` and `full.<name>`."""

    def __init__(self, short, full):
        self.short, self.full = short, full

    def _real(self, fullname):
        return self.full + fullname[len(self.short):]

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.short and not fullname.startswith(self.short + "."):
            return None
        try:
            found = importlib.util.find_spec(self._real(fullname))
        except (ImportError, ValueError):
            found = None
        if found is None:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=found.origin,  # runpy's __file__
                                               is_package=found.submodule_search_locations is not None)

    def create_module(self, spec):
        return importlib.import_module(self._real(spec.name))

    def exec_module(self, module):
        pass  # the real module is already loaded

    def get_code(self, fullname):
        # `python -m short.x` (runpy) runs the real module's code as __main__
        real = self._real(fullname)
        return importlib.util.find_spec(real).loader.get_code(real)
