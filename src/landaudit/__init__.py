"""landaudit: the data pipeline of the industrial-land governance campaign (工业全域治理).

The notebook API (issue 15; README, English part):

    import landaudit as la
    ws = la.Workspace("诸暨")
    la.ingest(ws, year=2023); la.classify(ws, year=2023); la.export(ws, year=2023)
    ws.parcels(2023).to_pandas()

Every name loads on first use (module `__getattr__`), so `import landaudit` — and `landaudit --help`
— imports neither pyarrow nor duckdb, nor `logging` (14 ms of a 15 ms import): the library logs
through landaudit.log's helpers, which add the package's NullHandler when first imported.

`ingest`, `classify`, `export` and `run` are also the names of submodules, and the import system
sets `landaudit.<name>` to the submodule whenever one is imported, so a function cannot simply sit
beside it. Those four submodules are made callable instead: `la.classify(ws, year=2023)` calls
`landaudit.api.classify`, while `landaudit.classify.connect`, `from landaudit.ingest import ingest`,
`import landaudit.ingest.pipeline as pipeline` and mock targets keep working as before.
"""

import sys as _sys
from types import ModuleType as _ModuleType

__version__ = "0.1.0"

# name → module that defines it (loaded on first use)
_LAZY = {
    "Workspace": "landaudit.workspace",
    "LandauditError": "landaudit.errors",
    "NoResultsError": "landaudit.errors",
    "read_table": "landaudit.api",
    "TABLES": "landaudit.api",
}
_API_MODULES = frozenset({"ingest", "classify", "export", "run"})
__all__ = ["Workspace", "ingest", "classify", "export", "run", "read_table", "TABLES", "LandauditError",
           "NoResultsError", "__version__"]


class _ApiModule(_ModuleType):
    """A submodule that is also the notebook API function of the same name (see above)."""

    def __call__(self, *args, **kwargs):
        from landaudit import api

        return getattr(api, self.__name__.rsplit(".", 1)[1])(*args, **kwargs)


class _Package(_ModuleType):
    def __setattr__(self, name: str, value) -> None:
        if name in _API_MODULES and type(value) is _ModuleType:     # the import system binding a submodule
            value.__class__ = _ApiModule
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    if name in _API_MODULES:
        from importlib import import_module

        return import_module(f"{__name__}.{name}")              # bound (and made callable) by _Package
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
