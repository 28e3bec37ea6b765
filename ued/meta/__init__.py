"""Meta-learned optimisers: inner agents, update rules as plug-ins (A2C, LPG), and (next) the
meta-training program that learns a rule over a distribution of levels inside ``jax.jit``."""
