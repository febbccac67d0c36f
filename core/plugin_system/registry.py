"""The plugin registry: discovers plugins from the ``localcond`` entry-point group.

>>> from core.plugin_system.registry import get_registry
>>> registry = get_registry()
>>> sorted(registry.kinds())
['analysis', 'descriptor', 'model', 'simulator']
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy
from pluggy import PluginValidationError
from pydantic import BaseModel

from core.plugin_system import hookspecs
from core.errors import DuplicatePluginError, InvalidPluginError, PluginUnavailableError, UserError
from core.plugin_system.plugin_api import PLUGIN_KINDS, Plugin

ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME

#: The registration hook of each plugin kind.
HOOK_OF_KIND = {
    "simulator": "localcond_register_simulators",
    "descriptor": "localcond_register_descriptors",
    "model": "localcond_register_models",
    "analysis": "localcond_register_analyses",
}


@dataclass(frozen=True)
class PluginInfo:
    """A registered plugin class and where it came from.

    ``broken_reason``: why a plugin could not even be registered (import or class errors). Whether a
    registered plugin's engine is importable (``unavailable_reason``) is found out on first use, so that
    building the registry, in every worker, imports no engine that the run does not use.
    """

    kind: str
    name: str
    plugin_class: type[Plugin] | None
    package: str
    package_version: str
    broken_reason: str | None = None

    @functools.cached_property
    def unavailable_reason(self) -> str | None:
        """``None`` when the plugin can be used here, else why not (imports its ``requires`` once)."""
        if self.broken_reason is not None or self.plugin_class is None:
            return self.broken_reason or "not a plugin class"
        return self.plugin_class.unavailable_reason()

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None

    @property
    def version(self) -> str:
        return self.plugin_class.version if self.plugin_class is not None else ""


class PluginRegistry:
    """All plugins known to this process, by kind and name.

    Build it with :func:`get_registry` (cached per process) or, for an
    isolated registry, ``PluginRegistry()`` then :meth:`load_entry_points`
    and/or :meth:`register_module`, then :meth:`collect`.
    """

    def __init__(self) -> None:
        self._manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._manager.add_hookspecs(hookspecs)
        self._packages: dict[str, tuple[str, str]] = {}
        self._plugins: dict[str, dict[str, PluginInfo]] = {kind: {} for kind in PLUGIN_KINDS}
        self.broken: list[PluginInfo] = []

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Import every module named in the entry-point ``group``; failures become ``broken`` entries."""
        for entry_point in metadata.entry_points(group=group):
            dist = entry_point.dist
            package = dist.metadata["Name"] if dist is not None else "?"
            version = dist.version if dist is not None else "?"
            try:
                module = entry_point.load()
            except Exception as exc:  # a broken third-party package must not break the others
                self.broken.append(PluginInfo("?", entry_point.name, None, package, version,
                                              f"entry point {entry_point.value!r} failed to load: {exc}"))
                continue
            plugin_name = f"{package}:{entry_point.name}"
            try:
                self.register_module(module, package=package, package_version=version, name=plugin_name)
            except PluginValidationError as exc:   # e.g. a hook implementation with a misnamed argument
                if self._manager.has_plugin(plugin_name):
                    self._manager.unregister(name=plugin_name)   # pluggy keeps what it added before the error
                self._packages.pop(plugin_name, None)
                self.broken.append(PluginInfo("?", entry_point.name, None, package, version,
                                              f"entry point {entry_point.value!r}: invalid hook implementation: "
                                              f"{exc}"))

    def register_module(self, module: ModuleType | object, *, package: str, package_version: str = "",
                        name: str | None = None) -> None:
        """Register an object holding ``hookimpl`` functions, attributed to ``package``."""
        plugin_name = name or f"{package}:{getattr(module, '__name__', repr(module))}"
        if self._manager.has_plugin(plugin_name):
            return
        try:
            hash(module)
        except TypeError:   # pluggy keeps plugins in sets: hold an unhashable namespace's hooks in a module
            holder = ModuleType(plugin_name)
            holder.__dict__.update({k: getattr(module, k) for k in dir(module) if not k.startswith("__")})
            module = holder
        self._manager.register(module, name=plugin_name)
        self._packages[plugin_name] = (package, package_version)

    def collect(self) -> PluginRegistry:
        """Call every registration hook and index the plugin classes they return.

        Each package's implementation is called through pluggy's hook caller on its own (a subset caller
        without the other packages), so that one package's failing hook is attributed to it and does not
        hide the others' plugins. A ``hookimpl`` whose name matches no hook (misspelt) makes its package a
        broken entry, instead of being ignored.
        """
        self._check_hook_names()
        for kind, hook_name in HOOK_OF_KIND.items():
            hook = getattr(self._manager.hook, hook_name)
            implementations = hook.get_hookimpls()
            for impl in implementations:
                package, package_version = self._packages.get(impl.plugin_name, (impl.plugin_name, ""))
                others = [other.plugin for other in implementations if other is not impl]
                try:
                    returned = self._manager.subset_hook_caller(hook_name, remove_plugins=others)(registry=self)
                    classes = [c for result in returned for c in (result or [])]
                except Exception as exc:  # one package's failing hook must not hide the others' plugins
                    self.broken.append(PluginInfo(kind, "?", None, package, package_version,
                                                  f"{hook_name} failed: {type(exc).__name__}: {exc}"))
                    continue
                for plugin_class in classes:
                    try:
                        self._add(kind, plugin_class, package, package_version)
                    except InvalidPluginError as exc:
                        name = getattr(plugin_class, "name", None) or getattr(plugin_class, "__name__", "?")
                        self.broken.append(PluginInfo(kind, str(name), None, package, package_version, str(exc)))
        return self

    def _check_hook_names(self) -> None:
        """A broken entry (named after the hook) for every ``hookimpl`` that is not one of localcond's hooks."""
        known = ", ".join(HOOK_OF_KIND.values())
        for plugin_name, plugin in self._manager.list_name_plugin():
            for caller in self._manager.get_hookcallers(plugin) or []:
                if caller.spec is not None:
                    continue
                package, package_version = self._packages.get(plugin_name, (plugin_name, ""))
                entry = PluginInfo("?", caller.name, None, package, package_version,
                                   f"hookimpl {caller.name!r} matches no localcond hook (misspelt?); the hooks "
                                   f"are {known}")
                if entry not in self.broken:
                    self.broken.append(entry)

    def _add(self, kind: str, plugin_class: Any, package: str, package_version: str) -> None:
        base = PLUGIN_KINDS[kind]
        if not (isinstance(plugin_class, type) and issubclass(plugin_class, base)):
            raise InvalidPluginError(
                f"package {package!r} registered {plugin_class!r} as a {kind} plugin, "
                f"but it is not a subclass of core.plugin_system.plugin_api.{base.__name__}")
        if not plugin_class.name:
            raise InvalidPluginError(f"package {package!r}: {kind} plugin {plugin_class.__name__} has no name")
        if not (isinstance(plugin_class.Config, type) and issubclass(plugin_class.Config, BaseModel)):
            raise InvalidPluginError(
                f"package {package!r}: {kind} plugin {plugin_class.name!r} has a Config that is not a pydantic model")
        existing = self._plugins[kind].get(plugin_class.name)
        if existing is not None:
            if existing.plugin_class is plugin_class:
                return
            raise DuplicatePluginError(
                f"two {kind} plugins are named {plugin_class.name!r}: one from package "
                f"{existing.package!r}, one from package {package!r}; uninstall one of them")
        self._plugins[kind][plugin_class.name] = PluginInfo(kind, plugin_class.name, plugin_class, package,
                                                            package_version)

    def kinds(self) -> list[str]:
        return list(self._plugins)

    def plugins(self, kind: str | None = None) -> list[PluginInfo]:
        """Registered plugins (of one kind, or all), sorted by kind then name."""
        kinds = [kind] if kind else list(self._plugins)
        return [info for k in kinds for _, info in sorted(self._plugins[k].items())]

    def info(self, kind: str, name: str) -> PluginInfo:
        """The plugin ``name`` of ``kind``; a UserError listing the choices if unknown."""
        try:
            return self._plugins[kind][name]
        except KeyError:
            choices = ", ".join(sorted(self._plugins[kind])) or "none installed"
            raise UserError(f"unknown {kind} plugin {name!r}; available: {choices}") from None

    def require(self, kind: str, name: str) -> type[Plugin]:
        """The class of an available plugin; errors say why it is unknown or unavailable."""
        info = self.info(kind, name)
        if not info.available:
            hint = info.plugin_class.install_hint if info.plugin_class else ""
            message = f"{kind} plugin {name!r} is not available: {info.unavailable_reason}"
            if hint:
                message += f"; install it with: {hint}"
            raise PluginUnavailableError(message)
        assert info.plugin_class is not None
        return info.plugin_class

    def instantiate(self, kind: str, name: str, options: dict[str, Any]) -> Plugin:
        """An instance of plugin ``name`` configured with already-validated ``options``."""
        plugin_class = self.require(kind, name)
        return plugin_class(plugin_class.Config.model_validate(options))


#: A registry that replaces the installed one in this context (see :func:`injected_registry`).
_INJECTED: contextvars.ContextVar[PluginRegistry | None] = contextvars.ContextVar("localcond_registry", default=None)


#: The registry of this whole process where one was set (:func:`use_process_registry`), else None.
_PROCESS_REGISTRY: PluginRegistry | None = None


def get_registry() -> PluginRegistry:
    """The registry in force: an injected one (:func:`injected_registry`), else one set for the process
    (:func:`use_process_registry`: a Dask worker of the plugin-author kit's runner), else the process-wide
    registry built from installed entry points."""
    injected = _INJECTED.get()
    if injected is not None:
        return injected
    return _PROCESS_REGISTRY if _PROCESS_REGISTRY is not None else installed_registry()


def use_process_registry(registry: PluginRegistry | None) -> None:
    """Make ``registry`` the one every thread of this process uses (None: back to the installed one)."""
    global _PROCESS_REGISTRY
    _PROCESS_REGISTRY = registry


@functools.lru_cache(maxsize=1)
def installed_registry() -> PluginRegistry:
    """The process-wide registry built from installed entry points (once per process)."""
    registry = PluginRegistry()
    registry.load_entry_points()
    return registry.collect()


@contextlib.contextmanager
def injected_registry(registry: PluginRegistry) -> Iterator[PluginRegistry]:
    """Make ``registry`` the one :func:`get_registry` returns in this context (this process only: runs
    that use it must execute in-process, e.g. ``executor: {kind: serial}``)."""
    token = _INJECTED.set(registry)
    try:
        yield registry
    finally:
        _INJECTED.reset(token)
