"""Meta-learned optimisers: inner agents, update rules as plug-ins (A2C, LPG), the
meta-curriculum interface (``curriculum``: meta-algorithms register in
``ued.registry.META_ALGORITHMS``), the meta-gradient and evolution-strategies backends, the
meta-training programs (``program`` for LPG, ``drift_program`` for LPO's drift) that learn a
rule over a distribution of levels inside ``jax.jit``, and ES's task batches (``tasks``: random
or an algorithmic-regret buffer, per-task fitness normalisation)."""
