"""Built-in localcond plugins, one sub-package per plugin kind."""
