"""Plugin discovery through the entry point, duplicates, unavailable engines."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from core.errors import DuplicatePluginError, PluginUnavailableError
from core.plugin_system.hookspecs import hookimpl
from core.plugin_system.plugin_api import DescriptorPlugin
from core.plugin_system.registry import PluginRegistry, get_registry
from tests.conftest import cli


def test_third_party_plugins_are_discovered_from_the_entry_point(plugin_site):
    registry = get_registry()
    info = registry.info("simulator", "brownian")
    assert info.package == "localcond-testplugins"
    assert info.package_version == "0.0.1"
    assert info.available
    assert {p.name for p in registry.plugins("model")} >= {"mean-linear"}


def test_plugins_command_lists_kind_name_package_version_and_availability(plugin_site):
    result = cli("plugins")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "brownian" in line)
    assert "simulator" in line and "localcond-testplugins" in line and "1.0" in line and "yes" in line
    missing = next(line for line in result.stdout.splitlines() if "needs-engine" in line)
    assert "no: cannot import 'localcond_no_such_engine'" in missing


def _module_with(name: str, plugin_class) -> types.SimpleNamespace:
    @hookimpl
    def localcond_register_descriptors(registry):
        return [plugin_class]

    return types.SimpleNamespace(localcond_register_descriptors=localcond_register_descriptors)


def test_two_plugins_with_one_name_is_an_error_naming_both_packages():
    first = type("First", (DescriptorPlugin,), {"name": "same", "version": "1"})
    second = type("Second", (DescriptorPlugin,), {"name": "same", "version": "2"})
    registry = PluginRegistry()
    registry.register_module(_module_with("a", first), package="package-a")
    registry.register_module(_module_with("b", second), package="package-b")
    with pytest.raises(DuplicatePluginError, match="package-a.*package-b|package-b.*package-a"):
        registry.collect()


def _module_returning(classes) -> types.SimpleNamespace:
    @hookimpl
    def localcond_register_descriptors(registry):
        return classes

    return types.SimpleNamespace(localcond_register_descriptors=localcond_register_descriptors)


def test_malformed_plugin_classes_are_listed_as_broken_and_the_others_still_load():
    good = type("Good", (DescriptorPlugin,), {"name": "good-one", "version": "1"})
    nameless = type("Nameless", (DescriptorPlugin,), {"name": "", "version": "1"})
    bad_config = type("BadConfig", (DescriptorPlugin,), {"name": "bad-config", "version": "1", "Config": dict})
    registry = PluginRegistry()
    registry.register_module(_module_returning([int, nameless, good, bad_config]), package="mixed-package")
    registry.collect()
    assert registry.info("descriptor", "good-one").plugin_class is good
    reasons = {info.name: info.unavailable_reason for info in registry.broken}
    assert "not a subclass" in reasons["int"] and "has no name" in reasons["Nameless"]
    assert "not a pydantic model" in reasons["bad-config"]
    assert all(info.package == "mixed-package" for info in registry.broken)


def test_a_failing_registration_hook_is_listed_as_broken():
    @hookimpl
    def localcond_register_descriptors(registry):
        raise RuntimeError("engine missing at import")

    good = type("Fine", (DescriptorPlugin,), {"name": "fine", "version": "1"})
    registry = PluginRegistry()
    registry.register_module(types.SimpleNamespace(localcond_register_descriptors=localcond_register_descriptors),
                             package="failing-package")
    registry.register_module(_module_with("b", good), package="fine-package")
    registry.collect()
    assert registry.info("descriptor", "fine").plugin_class is good
    assert any("engine missing at import" in info.unavailable_reason for info in registry.broken)


def test_a_misspelt_hookimpl_is_listed_as_broken_not_ignored():
    """pytest's and pluggy's rule: an implementation must match a hook specification."""
    @hookimpl
    def localcond_register_descriptor(registry):     # the hook is localcond_register_descriptors
        return []

    registry = PluginRegistry()
    registry.register_module(types.SimpleNamespace(localcond_register_descriptor=localcond_register_descriptor),
                             package="typo-package")
    registry.collect()
    broken = [info for info in registry.broken if info.package == "typo-package"]
    assert len(broken) == 1 and broken[0].name == "localcond_register_descriptor"
    assert "matches no localcond hook (misspelt?)" in broken[0].unavailable_reason
    assert "localcond_register_descriptors" in broken[0].unavailable_reason


def test_requiring_an_unavailable_plugin_gives_the_install_hint(plugin_site):
    with pytest.raises(PluginUnavailableError, match="pip install localcond-no-such-engine"):
        get_registry().require("descriptor", "needs-engine")


def test_a_broken_entry_point_is_listed_not_fatal(tmp_path, monkeypatch):
    dist = tmp_path / "brokenpkg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenpkg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[localcond]\nbroken = brokenpkg_does_not_exist\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = PluginRegistry()
    registry.load_entry_points()
    registry.collect()
    broken = [b for b in registry.broken if b.package == "brokenpkg"]
    assert broken and "failed to load" in broken[0].unavailable_reason


def test_building_the_registry_imports_no_engine_until_one_is_asked_for() -> None:
    """Every Dask worker builds the registry: it must not import every optional engine to do so."""
    import subprocess
    import sys

    script = ("import sys\nfrom core.plugin_system.registry import get_registry\nregistry = get_registry()\n"
              "engines = ('openmm', 'hoomd', 'torch', 'dscribe', 'featomic', 'quippy', 'MDAnalysis', 'sklearn')\n"
              "print(sorted(m for m in engines if m in sys.modules))\n"
              "registry.info('model', 'ridge').available\n"
              "print(sorted(m for m in engines if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=str(Path(__file__).parents[1])).stdout.splitlines()
    assert out == ["[]", "['sklearn']"]


def test_built_in_plugins_import_core_only_through_its_public_api() -> None:
    """ARCHITECTURE.md: plugins import from ``core.api`` (versioned), never from core's inner modules."""
    import re
    from pathlib import Path

    inner = re.compile(r"^\s*(from core\.(?!api\b)[\w.]+ import|import core\.)", re.MULTILINE)
    root = Path(__file__).resolve().parents[1] / "plugins"
    offenders = {str(path.relative_to(root)): inner.findall(path.read_text()) for path in root.rglob("*.py")}
    assert not {path: found for path, found in offenders.items() if found}


def _package(site: Path, name: str, module: str, source: str) -> None:
    """A real installed package: a dist-info with a localcond entry point, and its module, under ``site``."""
    dist = site / f"{name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[localcond]\nplugins = {module}\n")
    (site / f"{module}.py").write_text(source)


GOOD_DESCRIPTOR = '''
from core.api import DescriptorPlugin, hookimpl
import numpy as np

class Counting(DescriptorPlugin):
    name = "counting-good"
    version = "1.0"
    description = "a plugin that loads"
    def featurize(self, frame, center_indices):
        return np.zeros((len(center_indices), 1))

@hookimpl
def localcond_register_descriptors(registry):
    return [Counting]
'''


def test_broken_packages_are_listed_with_their_reason_and_the_others_load(tmp_path, monkeypatch):
    """Three broken packages beside a good one, all installed through the entry point: a hook implementation
    with a misnamed argument (pluggy refuses it at registration), a misspelt hook name, and an import error.
    Each is listed as broken with its reason; the good package's plugin loads; ``plugins`` exits 0."""
    _package(tmp_path, "goodpkg", "goodpkg_plugins", GOOD_DESCRIPTOR)
    _package(tmp_path, "argpkg", "argpkg_plugins", GOOD_DESCRIPTOR.replace("counting-good", "counting-arg")
             .replace("def localcond_register_descriptors(registry)", "def localcond_register_descriptors(registery)"))
    _package(tmp_path, "typopkg", "typopkg_plugins", GOOD_DESCRIPTOR.replace("counting-good", "counting-typo")
             .replace("def localcond_register_descriptors(", "def localcond_register_descriptor("))
    _package(tmp_path, "importpkg", "importpkg_plugins", "import a_module_that_is_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = PluginRegistry()
    registry.load_entry_points()
    registry.collect()
    reasons = {info.package: info.unavailable_reason for info in registry.broken}
    assert "registery" in reasons["argpkg"] and "invalid hook implementation" in reasons["argpkg"]
    assert "matches no localcond hook (misspelt?)" in reasons["typopkg"]
    assert "a_module_that_is_not_installed" in reasons["importpkg"] and "failed to load" in reasons["importpkg"]
    assert "goodpkg" not in reasons
    assert registry.info("descriptor", "counting-good").package == "goodpkg"
    names = {info.name for info in registry.plugins("descriptor")}
    assert "counting-arg" not in names and "counting-typo" not in names
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    listing = cli("plugins")
    assert listing.returncode == 0 and "Traceback" not in listing.stderr, listing.stderr
    assert "argpkg" in listing.stdout + listing.stderr and "counting-good" in listing.stdout
