"""What analyses and the report build on: the analysis template, learned k against the measured shares, local conductivities, figures, the report and `show`."""
