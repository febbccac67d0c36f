"""Engine-independent molecular-dynamics physics and trajectories: the paper's model, Ewald parameters, the production loop, GSD files and users' own files, periodic boundaries, species."""
