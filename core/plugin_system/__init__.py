"""Plugins: the hook specifications, the registry built from entry points, and the base classes of each plugin kind."""
