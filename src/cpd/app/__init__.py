"""Settings, the cpd command line and the wiring of `cpd run`."""
