"""Running a plan: planning tasks, executing them on a backend (serial, Dask, SLURM), simulating until precise."""
