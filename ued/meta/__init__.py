"""Meta-learned optimisers: inner agents, update rules as plug-ins (A2C, LPG), the
meta-curriculum interface (``curriculum``: meta-algorithms register in
``ued.registry.META_ALGORITHMS``), the meta-gradient and evolution-strategies backends, and the
meta-training program (``program``) that learns a rule over a distribution of levels inside
``jax.jit``."""
