"""pytest plugin (entry point ``tactile_sim``): fixtures with simulated devices for downstream CI."""
